export { createWebGpuEngine, type WebGpuEngineOptions } from './engine.js';
export { webgpuKernelSources, webgpuMicrobenchmarks } from './microbench.js';
