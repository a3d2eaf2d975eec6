export { hashKernelDirectory } from './kernel-sources.js';
export { type ClosureOptions, sourceClosure, workspaceRoot } from './source-closure.js';
