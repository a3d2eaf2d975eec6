export { createWebGpuEngine, type WebGpuEngineOptions } from './engine.js';
