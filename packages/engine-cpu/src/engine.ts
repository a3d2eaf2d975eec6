import { availableParallelism, cpus } from 'node:os';
import {
  type Engine,
  type EngineCapabilities,
  type EngineFactory,
  type LoadedModel,
  LocalLoadedModel,
  type LoadOptions,
  RowsLogitsModel,
} from '@quantbench/core';
import { loadTokenizer, openCheckpoint } from '@quantbench/model';
import { Qwen3Forward } from './forward.js';
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
    async load(load: LoadOptions): Promise<LoadedModel> {
      const checkpoint = await openCheckpoint(load.modelDir);
      try {
        const weights = await loadWeights(checkpoint, load.kernel);
        const { config } = checkpoint;
        const tokenizer = await loadTokenizer(load.modelDir, { vocabSize: config.vocabSize });
        const maxBatch = load.maxBatch ?? DEFAULT_MAX_BATCH;
        const maxContext = Math.min(load.maxContext ?? DEFAULT_MAX_CONTEXT, config.maxPositions);
        const forward = await Qwen3Forward.create(weights, load.kernel, {
          threads,
          maxRows: Math.max(prefillChunk, maxBatch),
          maxBatch,
          maxContext,
        });
        const model = new LocalLoadedModel({
          logits: new RowsLogitsModel(forward, 'cpu'),
          codec: tokenizer,
          kernel: load.kernel,
          modelDir: load.modelDir,
          memory: () => forward.memory(),
          dispose: async () => {
            loaded.delete(model);
            await forward.dispose();
          },
        });
        loaded.add(model);
        return model;
      } finally {
        await checkpoint.close();
      }
    },
    async dispose(): Promise<void> {
      await Promise.all([...loaded].map((model) => model.dispose()));
      loaded.clear();
    },
  };
  return engine;
};
