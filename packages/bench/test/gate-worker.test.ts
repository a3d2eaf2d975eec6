/**
 * The gate worker's protocol over streams, with a small engine of its own (one kernel case, a logits model that
 * records its calls): what it describes, that figures are sampled only once prepared, that each speed scenario keeps
 * to its own sequence slots, and that bad requests are answered with errors rather than a dead worker.
 */
import { PassThrough } from 'node:stream';
import { type DecodeInput, type Engine, EngineUnavailableError, type LoadedModel, type LogitsModel } from '@quantbench/core';
import { describe, expect, it } from 'vitest';
import { DescribeResultSchema, PROTOCOL_PREFIX } from '../src/gate/protocol.js';
import { serveGateWorker } from '../src/index.js';

interface Answer {
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: string;
}

/** Records its calls; sequence lengths are all it keeps. */
class RecordingLogits implements LogitsModel {
  readonly vocabSize = 4;
  readonly maxContext = 512;
  readonly maxBatch = 6;
  private readonly lengths = new Array<number>(this.maxBatch).fill(0);

  constructor(private readonly calls: string[]) {}

  length(sequence: number): number {
    return this.lengths[sequence]!;
  }

  async prefill(sequence: number, tokens: Int32Array): Promise<Float32Array> {
    this.calls.push(`prefill ${sequence}`);
    this.lengths[sequence]! += tokens.length;
    return new Float32Array(this.vocabSize);
  }

  async decode(inputs: readonly DecodeInput[]): Promise<Float32Array> {
    this.calls.push(`decode ${inputs.map((input) => input.sequence).join(',')}`);
    for (const input of inputs) this.lengths[input.sequence]!++;
    return new Float32Array(this.vocabSize * inputs.length);
  }

  reset(sequence: number): void {
    this.lengths[sequence] = 0;
  }
}

function fakeEngine(calls: string[]): Engine {
  const logits = new RecordingLogits(calls);
  const loaded: LoadedModel = {
    kernel: 'bf16',
    modelDir: '/models/fake',
    logits,
    generate: async () => [],
    memory: () => ({ bytesNow: 0, bytesPeak: 0, weightBytes: 0, kvCacheBytes: 0, source: 'fake' }),
    dispose: async () => void calls.push('dispose model'),
  };
  return {
    name: 'fake',
    capabilities: async () => ({ engine: 'fake', device: 'a fake device', formats: ['bf16'], kernelModes: ['bf16'], maxContext: 512, maxBatch: 8, logits: true }),
    load: async (options) => {
      calls.push(`load ${options.kernel} maxBatch ${options.maxBatch}`);
      return loaded;
    },
    dispose: async () => {},
    kernelSources: async () => [{ name: 'spin', file: 'src/kernels/spin.ts', sha256: 'a'.repeat(64), closureSha256: 'b'.repeat(64) }],
    sourceClosure: async () => 'c'.repeat(64),
    microbenchmarks: async () => ({
      cases: [
        {
          name: 'spin 1ms',
          kernel: 'bf16',
          reference: false,
          bytes: 1,
          flops: 0,
          source: 'spin',
          prepare: async () => ({
            run: () => {
              const until = performance.now() + 1;
              while (performance.now() < until) {
                // busy
              }
            },
            dispose: () => void calls.push('dispose case'),
          }),
        },
      ],
      dispose: async () => {},
    }),
  };
}

/** A worker on streams; `ask` sends one request and resolves with its answer. */
function startWorker(calls: string[]) {
  const input = new PassThrough();
  const answers = new Map<number, (answer: Answer) => void>();
  const lines: string[] = [];
  const done = serveGateWorker({
    registry: { names: ['fake', 'warp-drive'], load: async (name) => (name === 'fake' ? fakeEngine(calls) : Promise.reject(new EngineUnavailableError(name, 'no warp drive here'))) },
    input,
    write: (line) => {
      lines.push(line);
      const answer = JSON.parse(line.slice(PROTOCOL_PREFIX.length)) as Answer;
      answers.get(answer.id)?.(answer);
    },
    root: process.cwd(),
    bf16Dir: '/models/fake',
    promptsFile: '/dev/null',
  });
  let id = 0;
  const ask = (body: Record<string, unknown>): Promise<Answer> =>
    new Promise((resolve) => {
      const request = { id: ++id, ...body };
      answers.set(request.id, resolve);
      input.write(`${JSON.stringify(request)}\n`);
    });
  return { ask, input, lines, done };
}

describe('gate worker', () => {
  it('describes its figures, samples only what is prepared, and keeps each scenario to its own slots', async () => {
    const calls: string[] = [];
    const worker = startWorker(calls);
    const described = await worker.ask({ op: 'describe' });
    const description = DescribeResultSchema.parse(described.result);
    expect(description.protocol).toBe(1);
    expect(description.figures.map((figure) => figure.key)).toEqual(['kernel|fake|spin 1ms', 'speed|fake|bf16|prefill-64', 'speed|fake|bf16|decode-b1', 'speed|fake|bf16|decode-b4']);
    expect(description.engines).toEqual([
      { name: 'fake', available: true, device: 'a fake device', software: false, closure: 'c'.repeat(64) },
      { name: 'warp-drive', available: false, reason: 'no warp drive here' },
    ]);
    expect(new Set(description.figures.map((figure) => figure.fingerprint)).size).toBe(4);

    const early = await worker.ask({ op: 'sample', key: 'kernel|fake|spin 1ms' });
    expect(early).toMatchObject({ ok: false, error: "figure 'kernel|fake|spin 1ms' is not prepared" });
    expect((await worker.ask({ op: 'prepare', key: 'kernel|fake|spin 1ms' })).ok).toBe(true);
    const sample = await worker.ask({ op: 'sample', key: 'kernel|fake|spin 1ms' });
    expect((sample.result as { ms: number }).ms).toBeGreaterThanOrEqual(1);

    // All three scenarios of one model, prepared together: one load, with a slot each beyond the batch.
    for (const key of ['speed|fake|bf16|prefill-64', 'speed|fake|bf16|decode-b1', 'speed|fake|bf16|decode-b4']) expect((await worker.ask({ op: 'prepare', key })).ok).toBe(true);
    expect(calls.filter((call) => call.startsWith('load'))).toEqual(['load bf16 maxBatch 6']);
    calls.length = 0;
    for (const key of ['speed|fake|bf16|prefill-64', 'speed|fake|bf16|decode-b1', 'speed|fake|bf16|decode-b4']) await worker.ask({ op: 'sample', key });
    expect(calls).toEqual(['prefill 5', 'decode 4', 'decode 0,1,2,3']);
    for (const key of ['kernel|fake|spin 1ms', 'speed|fake|bf16|prefill-64', 'speed|fake|bf16|decode-b1']) expect((await worker.ask({ op: 'release', key })).ok).toBe(true);
    expect(calls).not.toContain('dispose model'); // decode-b4 still uses it
    await worker.ask({ op: 'release', key: 'speed|fake|bf16|decode-b4' });
    expect(calls).toContain('dispose model');
    expect(calls).toContain('dispose case');

    const bad = await worker.ask({ op: 'prepare', key: 'kernel|fake|nothing' });
    expect(bad.error).toContain("unknown figure 'kernel|fake|nothing'");
    worker.input.write('not json\n');
    await worker.ask({ op: 'exit' });
    await worker.done;
    expect(worker.lines.some((line) => line.includes("bad request 'not json'"))).toBe(true);
    expect(worker.lines.every((line) => line.startsWith(PROTOCOL_PREFIX))).toBe(true);
  });
});
