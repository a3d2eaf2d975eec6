/** Shared by the tests: whether CUDA runs here, and whether this machine can build the addon (nvcc present). */
import { probeCuda } from '../src/native.js';

export const cuda = probeCuda();

/** The label of a suite that needs a CUDA device: the device, or the probe's reason it cannot run. */
export const cudaSuiteLabel = cuda.available ? 'on a CUDA device' : `skipped, no usable CUDA device: ${cuda.reason}`;

export { findNvcc } from '../scripts/find-nvcc.mjs';
