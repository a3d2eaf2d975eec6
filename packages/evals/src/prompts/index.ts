export * from './build.js';
export * from './choice.js';
export * from './code.js';
export { canonicalJson, sha256Hex } from './hash.js';
export * from './math.js';
export * from './settings.js';
