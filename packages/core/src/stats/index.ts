export * from './intervals.js';
export * from './logit-compare.js';
export { relativeL2 } from './relative-l2.js';
