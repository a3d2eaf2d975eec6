export { createWebGpuEngine, type WebGpuEngineOptions } from './engine.js';
export { webgpuKernelSources, webgpuMicrobenchmarkCases } from './microbench.js';
