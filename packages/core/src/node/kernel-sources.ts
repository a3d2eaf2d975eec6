/**
 * Kernel source hashes (Node only): the sha256 of every kernel source file under an engine's kernels directory,
 * recorded with benchmark results so a changed figure can be traced to a changed kernel.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KernelSource } from '../engine.js';

const KERNEL_FILE = /\.(ts|js|wgsl|cu|cuh|h)$/;

/** Every kernel source file under `kernelsDir`, named by its path there and located relative to `packageRoot`. */
export async function hashKernelDirectory(kernelsDir: URL, packageRoot: URL): Promise<KernelSource[]> {
  const dir = fileURLToPath(kernelsDir);
  const root = fileURLToPath(packageRoot);
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((entry) => entry.isFile() && KERNEL_FILE.test(entry.name) && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  return Promise.all(
    files.map(async (file) => ({
      name: relative(dir, file).replace(/\.(ts|js)$/, ''),
      file: relative(root, file),
      sha256: createHash('sha256').update(await readFile(file)).digest('hex'),
    })),
  );
}
