export { hashKernelDirectory } from './kernel-sources.js';
