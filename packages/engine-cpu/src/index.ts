export { createCpuEngine, type CpuEngineOptions } from './engine.js';
