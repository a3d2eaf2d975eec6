/**
 * The figures a gate worker measures, inside one source tree: every kernel microbenchmark case of every engine that
 * runs here, and every engine's speed scenarios (prefill, decode at batch 1 and at the profile's batch) in every
 * kernel mode it runs. A figure is prepared once per worker process, then sampled one call at a time.
 */
import { createHash } from 'node:crypto';
import {
  type Engine,
  type EngineCapabilities,
  EngineUnavailableError,
  type KernelMode,
  type KernelSlowdown,
  type KernelSource,
  type LoadedModel,
  type MicrobenchmarkCase,
  type MicrobenchmarkSuite,
  timeCall,
  warmUp,
  weightFormatOf,
} from '@quantbench/core';
import { DECODE_CONTEXT, decodeStep, fillDecodeSequences, speedTokens } from '../engine-speed.js';
import type { BenchModel } from '../run-bench.js';
import { profileFor } from '../run-bench.js';
import type { EngineInfo, FigureInfo } from './protocol.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The engines a worker can load: the registry's names, and a loader that throws EngineUnavailableError. */
export interface EngineLoader {
  readonly names: readonly string[];
  load(name: string): Promise<Engine>;
}

/** A figure made ready to sample. */
export interface Sampler {
  /** One call, in milliseconds. */
  sample(): Promise<number>;
  release(): Promise<void>;
}

export interface WorkerFigure extends FigureInfo {
  /** What the figure compiled at run time, as a fingerprint (runs it once). */
  compiledFingerprint(): Promise<string>;
  prepare(): Promise<{ sampler: Sampler; callMs: number }>;
}

interface EngineState {
  readonly engine: Engine;
  readonly capabilities: EngineCapabilities;
  readonly closure: string;
  suite?: MicrobenchmarkSuite;
  sources?: KernelSource[];
}

/**
 * Loaded models, one per (engine, kernel mode), kept while a prepared figure uses them. The speed scenarios of one
 * model are sampled interleaved, so each has sequence slots of its own: the batched decode 0..B−1, decode-b1 slot B,
 * the prefill slot B+1.
 */
export class ModelCache {
  private readonly loaded = new Map<string, { model: Promise<LoadedModel>; users: number }>();

  constructor(private readonly model: BenchModel) {}

  /** Slots a model is loaded with for a batched-decode batch of `batch`. */
  static slots(batch: number): number {
    return batch + 2;
  }

  async use(state: EngineState, kernel: KernelMode): Promise<LoadedModel> {
    const key = `${state.engine.name}|${kernel}`;
    let entry = this.loaded.get(key);
    if (!entry) {
      const modelDir = weightFormatOf(kernel) === 'bf16' ? this.model.bf16Dir : this.model.fp8Dir!;
      const profile = profileFor(state.capabilities, false);
      entry = { model: state.engine.load({ modelDir, kernel, maxBatch: ModelCache.slots(profile.decodeBatch), maxContext: 512 }), users: 0 };
      this.loaded.set(key, entry);
    }
    entry.users++;
    return entry.model;
  }

  async release(state: EngineState, kernel: KernelMode): Promise<void> {
    const key = `${state.engine.name}|${kernel}`;
    const entry = this.loaded.get(key);
    if (!entry || --entry.users > 0) return;
    this.loaded.delete(key);
    await (await entry.model).dispose();
  }

  async clear(): Promise<void> {
    const entries = [...this.loaded.values()];
    this.loaded.clear();
    for (const entry of entries) await (await entry.model).dispose();
  }
}

/** Re-prefill a decode figure's sequences once they have grown by this many tokens, so every sample sees a short context. */
const DECODE_REFILL = 64;
const SPEED_WARM_UP_CALLS = 2;
/**
 * A kernel's warm-up in a worker stops by this time even if its calls still vary (they are then sampled in pairs
 * with the other tree's, which warmed up the same way; a bench run's warm-up may take longer).
 */
const KERNEL_WARM_UP_MAX_MS = 500;

export class WorkerFigures {
  private readonly engines = new Map<string, EngineState>();
  readonly models: ModelCache;

  constructor(
    private readonly registry: EngineLoader,
    private readonly model: BenchModel,
    private readonly slowdowns: readonly KernelSlowdown[],
  ) {
    this.models = new ModelCache(model);
  }

  /** The registry's engines (or `only` those), with device and source closure, or the reason one cannot run here. */
  async engineInfos(only?: readonly string[]): Promise<EngineInfo[]> {
    const infos: EngineInfo[] = [];
    for (const name of this.registry.names.filter((candidate) => !only || only.includes(candidate))) {
      try {
        const state = await this.engineState(name);
        infos.push({ name, available: true, device: state.capabilities.device, software: state.capabilities.software ?? false, closure: state.closure });
      } catch (error) {
        infos.push({ name, available: false, reason: error instanceof EngineUnavailableError ? error.reason : error instanceof Error ? error.message : String(error) });
      }
    }
    return infos;
  }

  async engineState(name: string): Promise<EngineState> {
    let state = this.engines.get(name);
    if (!state) {
      const engine = await this.registry.load(name);
      const capabilities = await engine.capabilities();
      // Without a closure nothing can be called unchanged: a unique value makes every figure count as changed.
      const closure = (await engine.sourceClosure?.()) ?? `unknown-${crypto.randomUUID()}`;
      state = { engine, capabilities, closure };
      this.engines.set(name, state);
    }
    return state;
  }

  async kernelSources(engines: readonly EngineInfo[]): Promise<Record<string, KernelSource[]>> {
    const sources: Record<string, KernelSource[]> = {};
    for (const info of engines) if (info.available) sources[info.name] = await this.sourcesOf(await this.engineState(info.name));
    return sources;
  }

  private async sourcesOf(state: EngineState): Promise<KernelSource[]> {
    state.sources ??= (await state.engine.kernelSources?.()) ?? [];
    return state.sources;
  }

  /** Every figure of the available engines. */
  async figures(engines: readonly EngineInfo[]): Promise<WorkerFigure[]> {
    const figures: WorkerFigure[] = [];
    for (const info of engines) {
      if (!info.available) continue;
      const state = await this.engineState(info.name);
      if (state.engine.microbenchmarks) {
        state.suite ??= await state.engine.microbenchmarks({ quick: true, slowdowns: this.slowdowns });
        const sources = await this.sourcesOf(state);
        for (const kernelCase of state.suite.cases) figures.push(this.kernelFigure(state, kernelCase, sources));
      }
      for (const kernel of state.capabilities.kernelModes) {
        if (weightFormatOf(kernel) === 'fp8' && !this.model.fp8Dir) continue;
        figures.push(...this.speedFigures(state, kernel));
      }
    }
    return figures;
  }

  private kernelFigure(state: EngineState, kernelCase: MicrobenchmarkCase, sources: readonly KernelSource[]): WorkerFigure {
    const closure = kernelCase.source ? sources.find((source) => source.name === kernelCase.source)?.closureSha256 : undefined;
    // A case without a kernel file of its own (the copy probe) runs only the runtime's code: a natural control.
    const fingerprint = sha256(JSON.stringify([closure ?? (kernelCase.source ? `unknown-${crypto.randomUUID()}` : 'runtime'), kernelCase.name, kernelCase.bytes, kernelCase.flops]));
    const info: FigureInfo = {
      key: `kernel|${state.engine.name}|${kernelCase.name}`,
      group: 'kernel',
      engine: state.engine.name,
      kernel: kernelCase.kernel,
      name: kernelCase.name,
      ...(kernelCase.source ? { source: kernelCase.source } : {}),
      singleThread: kernelCase.singleThread ?? false,
      fingerprint,
    };
    return {
      ...info,
      async compiledFingerprint() {
        const prepared = await kernelCase.prepare();
        try {
          await timeCall(prepared);
          const compiled = prepared.compiledSources?.() ?? [];
          return compiled.length === 0 ? fingerprint : sha256(JSON.stringify([fingerprint, ...[...compiled].sort().map(sha256)]));
        } finally {
          await prepared.dispose();
        }
      },
      async prepare() {
        const prepared = await kernelCase.prepare();
        try {
          await warmUp(prepared, KERNEL_WARM_UP_MAX_MS);
          const callMs = await timeCall(prepared);
          return { sampler: { sample: () => timeCall(prepared), release: async () => prepared.dispose() }, callMs };
        } catch (error) {
          await prepared.dispose();
          throw error;
        }
      },
    };
  }

  private speedFigures(state: EngineState, kernel: KernelMode): WorkerFigure[] {
    const profile = profileFor(state.capabilities, false);
    // A software adapter (~1 s a step) is spared the batched decode: its kernels differ from decode-b1's only in the
    // rows compiled in.
    const batched = profile.decodeBatch > 1 && !state.capabilities.software;
    // Slots per ModelCache: the batched decode 0..B−1, decode-b1 slot B, the prefill slot B+1.
    const scenarios: { name: string; decodeSlots?: number[] }[] = [
      { name: `prefill-${profile.prefillTokens}` },
      { name: 'decode-b1', decodeSlots: [profile.decodeBatch] },
      ...(batched ? [{ name: `decode-b${profile.decodeBatch}`, decodeSlots: Array.from({ length: profile.decodeBatch }, (_, slot) => slot) }] : []),
    ];
    return scenarios.map(({ name: scenario, decodeSlots }) => {
      const fingerprint = sha256(JSON.stringify([state.closure, kernel, scenario]));
      return {
        key: `speed|${state.engine.name}|${kernel}|${scenario}`,
        group: 'speed',
        engine: state.engine.name,
        kernel,
        name: scenario,
        singleThread: false,
        fingerprint,
        compiledFingerprint: async () => fingerprint,
        prepare: async () => {
          const logits = (await this.models.use(state, kernel)).logits;
          try {
            if (!logits) throw new Error(`${state.engine.name} exposes no logits: its speed cannot be sampled`);
            const scenarioSampler = decodeSlots ? await decodeSampler(logits, decodeSlots) : prefillSampler(logits, profile.prefillTokens, profile.decodeBatch + 1);
            const sampler: Sampler = {
              sample: () => scenarioSampler.sample(),
              release: async () => {
                await scenarioSampler.release();
                await this.models.release(state, kernel);
              },
            };
            let callMs = 0;
            for (let i = 0; i < SPEED_WARM_UP_CALLS; i++) callMs = await sampler.sample();
            return { sampler, callMs };
          } catch (error) {
            await this.models.release(state, kernel);
            throw error;
          }
        },
      };
    });
  }

  async dispose(): Promise<void> {
    await this.models.clear();
    for (const state of this.engines.values()) {
      await state.suite?.dispose();
      await state.engine.dispose();
    }
    this.engines.clear();
  }
}

type Logits = NonNullable<LoadedModel['logits']>;

/** One sample: a prefill of `count` tokens into an emptied sequence slot. */
function prefillSampler(logits: Logits, count: number, slot: number): Sampler {
  const prompt = speedTokens(count, 0);
  return {
    async sample() {
      logits.reset(slot);
      const start = performance.now();
      await logits.prefill(slot, prompt, 'last');
      return performance.now() - start;
    },
    release: async () => logits.reset(slot),
  };
}

/** One sample: one decode step of the sequences in `slots`, which are re-filled (untimed) before they grow long. */
async function decodeSampler(logits: Logits, slots: readonly number[]): Promise<Sampler> {
  const fill = async (): Promise<void> => {
    for (const slot of slots) logits.reset(slot);
    await fillDecodeSequences(logits, slots);
  };
  await fill();
  const step = decodeStep(slots);
  return {
    async sample() {
      if (logits.length(slots[0]!) >= DECODE_CONTEXT + DECODE_REFILL) await fill();
      const start = performance.now();
      await logits.decode(step);
      return performance.now() - start;
    },
    release: async () => {
      for (const slot of slots) logits.reset(slot);
    },
  };
}
