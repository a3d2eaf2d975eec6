/** Shared by the tests: whether CUDA runs here, and whether this machine can build the addon (nvcc present). */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { probeCuda } from '../src/native.js';

export const cuda = probeCuda();

/** The label of a suite that needs a CUDA device: the device, or the probe's reason it cannot run. */
export const cudaSuiteLabel = cuda.available ? 'on a CUDA device' : `skipped, no usable CUDA device: ${cuda.reason}`;

/** nvcc as the build script finds it (CUDACXX, PATH, CUDA_PATH / CUDA_HOME, /usr/local/cuda). */
export function findNvcc(): string | undefined {
  const candidates: string[] = [];
  if (process.env.CUDACXX) candidates.push(process.env.CUDACXX);
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir) candidates.push(join(dir, 'nvcc'));
  for (const home of [process.env.CUDA_PATH, process.env.CUDA_HOME]) if (home) candidates.push(join(home, 'bin', 'nvcc'));
  candidates.push('/usr/local/cuda/bin/nvcc');
  return candidates.find((candidate) => existsSync(candidate));
}
