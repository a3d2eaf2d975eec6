export { createCudaEngine, type CudaEngineOptions } from './engine.js';
export type { CudaMemoryReport } from './forward.js';
export { ADDON_PATH, type CudaProbe, type NativeDevice, type NativeProbe, probeCuda } from './native.js';
