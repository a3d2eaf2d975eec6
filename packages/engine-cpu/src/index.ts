export { createCpuEngine, type CpuEngineOptions } from './engine.js';
export { cpuKernelSources, cpuMicrobenchmarks } from './microbench.js';
