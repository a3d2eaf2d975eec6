/**
 * A gate worker: one process per source tree, answering the gate's requests (protocol.ts) one at a time. It
 * measures with its own tree's engines and kernels; the weights, prompts and (test-only) slowdowns come from the
 * gate, so both trees measure the same inputs.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { KernelSlowdown } from '@quantbench/core';
import { gitCommit } from '../report.js';
import { PROTOCOL_PREFIX, PROTOCOL_VERSION, type Request, RequestSchema, type Response } from './protocol.js';
import { accuracyFigures, type AccuracyInputs } from './worker-accuracy.js';
import { type EngineLoader, type Sampler, type WorkerFigure, WorkerFigures } from './worker-figures.js';

export interface GateWorkerOptions extends AccuracyInputs {
  readonly registry: EngineLoader;
  readonly input: Readable;
  /** Where response lines go (stdout): each is written whole, prefixed with PROTOCOL_PREFIX. */
  readonly write: (line: string) => void;
  /** The source tree's root, for its commit. */
  readonly root: string;
  readonly slowdowns?: readonly KernelSlowdown[];
}

/**
 * A full collection while nothing is timed (the worker runs with --expose-gc): otherwise the garbage of a prepare or
 * a release is collected in idle time, while the other tree's worker is timing a call beside it.
 */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export async function serveGateWorker(options: GateWorkerOptions): Promise<void> {
  const model = { label: 'gate', bf16Dir: options.bf16Dir, ...(options.fp8Dir ? { fp8Dir: options.fp8Dir } : {}) };
  const figures = new WorkerFigures(options.registry, model, options.slowdowns ?? []);
  const known = new Map<string, WorkerFigure>();
  const prepared = new Map<string, Sampler>();
  const figure = (key: string): WorkerFigure => {
    const found = known.get(key);
    if (!found) throw new Error(`unknown figure '${key}' (ask 'describe' first)`);
    return found;
  };
  const sampler = (key: string): Sampler => {
    const found = prepared.get(key);
    if (!found) throw new Error(`figure '${key}' is not prepared`);
    return found;
  };

  const handle = async (request: Request): Promise<unknown> => {
    switch (request.op) {
      case 'describe': {
        const engines = await figures.engineInfos(request.engines);
        const list = await figures.figures(engines);
        for (const item of list) known.set(item.key, item);
        const infos = list.map(({ compiledFingerprint: _compiled, prepare: _prepare, ...info }) => info);
        return { protocol: PROTOCOL_VERSION, commit: gitCommit(options.root), engines, figures: infos, kernelSources: await figures.kernelSources(engines) };
      }
      case 'fingerprint':
        return { fingerprint: await figure(request.key).compiledFingerprint() };
      case 'prepare': {
        if (prepared.has(request.key)) throw new Error(`figure '${request.key}' is already prepared`);
        const ready = await figure(request.key).prepare();
        prepared.set(request.key, ready.sampler);
        collectGarbage();
        return { callMs: ready.callMs };
      }
      case 'sample':
        return { ms: await sampler(request.key).sample() };
      case 'release': {
        await sampler(request.key).release();
        prepared.delete(request.key);
        collectGarbage();
        return {};
      }
      case 'accuracy':
        return { figures: await accuracyFigures(figures, request.engines, options) };
      case 'exit':
        return {};
    }
  };

  const respond = (response: Response): void => options.write(`${PROTOCOL_PREFIX}${JSON.stringify(response)}\n`);
  const lines = createInterface({ input: options.input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue;
      let request: Request;
      try {
        request = RequestSchema.parse(JSON.parse(line));
      } catch (error) {
        respond({ id: -1, ok: false, error: `bad request '${line.slice(0, 200)}': ${error instanceof Error ? error.message : String(error)}` });
        continue;
      }
      try {
        respond({ id: request.id, ok: true, result: await handle(request) });
      } catch (error) {
        respond({ id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) });
      }
      if (request.op === 'exit') break;
    }
  } finally {
    lines.close();
    for (const ready of prepared.values()) await ready.release();
    await figures.dispose();
  }
}
