export { createCpuEngine, type CpuEngineOptions } from './engine.js';
export { cpuKernelSources, cpuMicrobenchmarks, QWEN3_4B_SHAPES } from './microbench.js';
