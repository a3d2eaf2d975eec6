/**
 * The part of `Engine.load` every local engine shares: open the checkpoint (a directory, or a URL read with HTTP
 * Range requests), let the engine build its forward pass from it, load the tokenizer, and wrap the result in
 * core's `RowsLogitsModel` and `LocalLoadedModel`. The engine supplies only what is its own: weights, kernels,
 * memory accounting.
 */
import {
  type LoadedModel,
  LocalLoadedModel,
  type LoadOptions,
  type MemoryReport,
  type RowForward,
  RowsLogitsModel,
} from '@quantbench/core';
import { type Checkpoint, openCheckpoint } from '../checkpoint/index.js';
import { httpModelFiles } from '../files/index.js';
import { loadTokenizer } from '../tokenizer/tokenizer.js';

/** An engine's forward pass, as `loadLocalModel` needs it. */
export interface LocalForward extends RowForward {
  memory(): MemoryReport;
  dispose(): void | Promise<void>;
}

export interface LocalModelLimits {
  readonly maxBatch: number;
  readonly maxContext: number;
}

export interface LoadLocalModelOptions {
  /** The engine's name, used in error messages. */
  readonly engine: string;
  readonly load: LoadOptions;
  /** Used where `load` sets no limit; maxContext is never above the model's max positions. */
  readonly defaults: LocalModelLimits;
  /** Models loaded and not yet disposed; the engine disposes what is left here when it is disposed. */
  readonly loaded: Set<LoadedModel>;
  /** Builds the engine's forward pass while the checkpoint is open (it is closed afterwards). */
  build(checkpoint: Checkpoint, limits: LocalModelLimits): Promise<LocalForward>;
}

export async function loadLocalModel(options: LoadLocalModelOptions): Promise<LoadedModel> {
  const { load, defaults, loaded } = options;
  const source = /^https?:\/\//i.test(load.modelDir) ? httpModelFiles(load.modelDir) : load.modelDir;
  const checkpoint = await openCheckpoint(source);
  try {
    const { config } = checkpoint;
    const limits = {
      maxBatch: load.maxBatch ?? defaults.maxBatch,
      maxContext: Math.min(load.maxContext ?? defaults.maxContext, config.maxPositions),
    };
    // The tokenizer first: a bad tokenizer fails before the engine allocates anything.
    const tokenizer = await loadTokenizer(source, { vocabSize: config.vocabSize });
    const forward = await options.build(checkpoint, limits);
    const model: LoadedModel = new LocalLoadedModel({
      logits: new RowsLogitsModel(forward, options.engine),
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
}
