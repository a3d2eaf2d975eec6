export * from './intervals.js';
export * from './logit-compare.js';
