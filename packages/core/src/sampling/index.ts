export * from './params.js';
export * from './rng.js';
export * from './sample.js';
