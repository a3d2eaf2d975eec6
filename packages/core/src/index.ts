export * from './engine.js';
export * from './sampling/params.js';
