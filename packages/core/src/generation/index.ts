export * from './generate.js';
export { deviceTopK, sampleFromTopK } from './device-top-k.js';
