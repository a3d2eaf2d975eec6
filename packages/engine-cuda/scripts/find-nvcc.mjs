/** nvcc as the addon build finds it: CUDACXX, then PATH, then CUDA_PATH / CUDA_HOME, then /usr/local/cuda. */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export function findNvcc() {
  const candidates = [];
  if (process.env.CUDACXX) candidates.push(process.env.CUDACXX);
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir) candidates.push(join(dir, 'nvcc'));
  for (const home of [process.env.CUDA_PATH, process.env.CUDA_HOME]) if (home) candidates.push(join(home, 'bin', 'nvcc'));
  candidates.push('/usr/local/cuda/bin/nvcc');
  return candidates.find((candidate) => existsSync(candidate));
}
