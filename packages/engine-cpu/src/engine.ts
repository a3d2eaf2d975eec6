import { availableParallelism, cpus } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Engine,
  type EngineCapabilities,
  type EngineFactory,
  type LoadedModel,
  type LoadOptions,
} from '@quantbench/core';
import { sourceClosure } from '@quantbench/core/node';
import { loadLocalModel } from '@quantbench/model';
import { Qwen3Forward } from './forward.js';
import { cpuKernelSources, cpuMicrobenchmarks } from './microbench.js';
import { loadWeights } from './weights.js';

export interface CpuEngineOptions {
  /** Threads for the matmuls, the calling thread included (default: every core). */
  readonly threads?: number;
  /** Tokens per prefill chunk (default 64). */
  readonly prefillChunk?: number;
}

const DEFAULT_MAX_BATCH = 8;
const DEFAULT_MAX_CONTEXT = 65_536;

export const createCpuEngine: EngineFactory<CpuEngineOptions> = async (options = {}) => {
  const threads = options.threads ?? availableParallelism();
  if (!(Number.isInteger(threads) && threads >= 1)) throw new RangeError(`cpu engine: threads must be a positive integer, got ${threads}`);
  const prefillChunk = options.prefillChunk ?? 64;
  const device = `CPU: ${cpus()[0]?.model.trim() ?? 'unknown'} (${threads} thread${threads === 1 ? '' : 's'})`;
  const loaded = new Set<LoadedModel>();

  const engine: Engine = {
    name: 'cpu',
    async capabilities(): Promise<EngineCapabilities> {
      return {
        engine: 'cpu',
        device,
        formats: ['bf16', 'fp8'],
        kernelModes: ['bf16', 'w8a16', 'w8a8'],
        maxContext: DEFAULT_MAX_CONTEXT,
        maxBatch: DEFAULT_MAX_BATCH,
        logits: true,
      };
    },
    load(load: LoadOptions): Promise<LoadedModel> {
      return loadLocalModel({
        engine: 'cpu',
        load,
        defaults: { maxBatch: DEFAULT_MAX_BATCH, maxContext: DEFAULT_MAX_CONTEXT },
        loaded,
        build: async (checkpoint, limits) =>
          Qwen3Forward.create(await loadWeights(checkpoint, load.kernel), load.kernel, {
            threads,
            maxRows: Math.max(prefillChunk, limits.maxBatch),
            ...limits,
          }),
      });
    },
    async dispose(): Promise<void> {
      await Promise.all([...loaded].map((model) => model.dispose()));
      loaded.clear();
    },
    kernelSources: cpuKernelSources,
    async sourceClosure() {
      // The pool's worker threads load their own entry module, which no import reaches.
      const here = fileURLToPath(import.meta.url);
      return (await sourceClosure([here, fileURLToPath(new URL(`./pool/worker${extname(here)}`, import.meta.url))])).sha256;
    },
    microbenchmarks: cpuMicrobenchmarks,
  };
  return engine;
};
