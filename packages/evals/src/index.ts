export * from './types.js';
export * from './prompts/index.js';
export * from './scoring/index.js';
export * from './metrics/index.js';
export * from './runner/index.js';
export * from './sandbox/index.js';
export * from './datasets/index.js';
