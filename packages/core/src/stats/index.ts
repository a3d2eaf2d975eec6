export * from './intervals.js';
export * from './logit-compare.js';
export { relativeL2 } from './relative-l2.js';
export { bootstrapMeanInterval, pairedBootstrap, type BootstrapInterval, type BootstrapOptions, type PairedBootstrap } from './bootstrap.js';
export { halfBinomialCdf, mcnemarTest, signTest, type McNemarResult, type SignTestResult } from './paired-tests.js';
export { passAtK } from './pass-at-k.js';
export { regularizedBeta, studentTCdf, studentTQuantile } from './student-t.js';
