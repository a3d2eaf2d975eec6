export { createWebGpuEngine, type WebGpuEngineOptions } from './engine.js';
export { QWEN3_4B_SHAPES, webgpuKernelSources, webgpuMicrobenchmarks } from './microbench.js';
