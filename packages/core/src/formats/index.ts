export * from './bf16.js';
export * from './dtype.js';
export * from './e4m3.js';
export * from './fp16.js';
export * from './ue8m0.js';
