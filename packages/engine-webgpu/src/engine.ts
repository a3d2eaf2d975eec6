import {
  type Engine,
  type EngineCapabilities,
  type EngineFactory,
  EngineUnavailableError,
  type LoadedModel,
  LocalLoadedModel,
  type LoadOptions,
  RowsLogitsModel,
} from '@quantbench/core';
import { httpModelFiles, loadTokenizer, openCheckpoint } from '@quantbench/model';
import { WebGpuForward } from './forward.js';
import { createGpuContext, type GpuContext } from './gpu/index.js';
import { uploadWeights } from './weights.js';

export interface WebGpuEngineOptions {
  /** Tokens per prefill chunk (default 64). */
  readonly prefillChunk?: number;
}

const DEFAULT_MAX_BATCH = 4;
const DEFAULT_MAX_CONTEXT = 4096;

/**
 * The WebGPU engine: WGSL kernels over weights kept in their stored formats. In Node it runs on Dawn (a hardware
 * adapter, else SwiftShader); in a browser on navigator.gpu. One device per engine.
 */
export const createWebGpuEngine: EngineFactory<WebGpuEngineOptions> = async (options = {}) => {
  let context: GpuContext;
  try {
    context = await createGpuContext();
  } catch (error) {
    throw new EngineUnavailableError('webgpu', error instanceof Error ? error.message : String(error));
  }
  const prefillChunk = options.prefillChunk ?? 64;
  const loaded = new Set<LoadedModel>();
  const engine: Engine = {
    name: 'webgpu',
    async capabilities(): Promise<EngineCapabilities> {
      return {
        engine: 'webgpu',
        device: context.description,
        formats: ['bf16', 'fp8'],
        kernelModes: ['bf16', 'w8a16', 'w8a8'],
        maxContext: DEFAULT_MAX_CONTEXT,
        maxBatch: DEFAULT_MAX_BATCH,
        logits: true,
      };
    },
    async load(load: LoadOptions): Promise<LoadedModel> {
      // A URL (a browser, or Node reading from a server) is read with HTTP Range requests; anything else is a directory.
      const source = /^https?:\/\//i.test(load.modelDir) ? httpModelFiles(load.modelDir) : load.modelDir;
      const checkpoint = await openCheckpoint(source);
      try {
        const weights = await uploadWeights(context, checkpoint, load.kernel);
        const { config } = checkpoint;
        const tokenizer = await loadTokenizer(source, { vocabSize: config.vocabSize });
        const maxBatch = load.maxBatch ?? DEFAULT_MAX_BATCH;
        const maxContext = Math.min(load.maxContext ?? DEFAULT_MAX_CONTEXT, config.maxPositions);
        const forward = new WebGpuForward(context, weights, load.kernel, { maxRows: Math.max(prefillChunk, maxBatch), maxBatch, maxContext });
        const model = new LocalLoadedModel({
          logits: new RowsLogitsModel(forward, 'webgpu'),
          codec: tokenizer,
          kernel: load.kernel,
          modelDir: load.modelDir,
          memory: () => forward.memory(),
          dispose: async () => {
            loaded.delete(model);
            forward.dispose();
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
      context.destroy();
    },
  };
  return engine;
};
