export { acquireAdapter, SWIFTSHADER_ICD, type AcquiredAdapter } from './acquire-gpu.js';
export { createGpuContext, type GpuContext, type GpuFeatures } from './gpu-context.js';
export { GpuMemory, type BufferAccounting } from './gpu-memory.js';
export { KernelRunner, params, type BufferBinding, type Dispatch, type KernelSpec } from './kernel-runner.js';
