export * from './cases.js';
export * from './harness.js';
export * from './slowdown.js';
