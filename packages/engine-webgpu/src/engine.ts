import {
  type Engine,
  type EngineCapabilities,
  type EngineFactory,
  EngineUnavailableError,
  type LoadedModel,
  type LoadOptions,
} from '@quantbench/core';
import { loadLocalModel } from '@quantbench/model';
import { WebGpuForward } from './forward.js';
import { createGpuContext, type GpuContext } from './gpu/index.js';
import { webgpuKernelSources, webgpuMicrobenchmarkCases, webgpuSourceClosure } from './microbench.js';
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
        software: context.features.software,
      };
    },
    load(load: LoadOptions): Promise<LoadedModel> {
      return loadLocalModel({
        engine: 'webgpu',
        load,
        defaults: { maxBatch: DEFAULT_MAX_BATCH, maxContext: DEFAULT_MAX_CONTEXT },
        loaded,
        build: async (checkpoint, limits) =>
          new WebGpuForward(context, await uploadWeights(context, checkpoint, load.kernel), load.kernel, {
            maxRows: Math.max(prefillChunk, limits.maxBatch),
            ...limits,
          }),
      });
    },
    async dispose(): Promise<void> {
      await Promise.all([...loaded].map((model) => model.dispose()));
      context.destroy();
    },
    kernelSources: webgpuKernelSources,
    sourceClosure: () => webgpuSourceClosure(new URL(import.meta.url)),
    /** On a device of its own, so the benchmark buffers never count in a loaded model's memory peak. */
    async microbenchmarks(microbenchOptions) {
      const own = await createGpuContext();
      return { cases: webgpuMicrobenchmarkCases(own, microbenchOptions), dispose: async () => own.destroy() };
    },
  };
  return engine;
};
