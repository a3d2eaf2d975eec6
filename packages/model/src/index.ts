export * from './errors.js';
export * from './tokenizer/index.js';
export * from './safetensors/index.js';
export * from './config/index.js';
export * from './checkpoint/index.js';
export * from './synth/index.js';
export * from './hub/index.js';
