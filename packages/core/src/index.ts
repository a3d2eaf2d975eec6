export * from './engine.js';
export * from './engine-kit/index.js';
export * from './results/schema.js';
export * from './formats/index.js';
export * from './quant/index.js';
export * from './sampling/index.js';
export * from './generation/index.js';
export * from './stats/index.js';
