export * from './activation-fp8.js';
export * from './block-fp8.js';
