/**
 * Kernel source hashes (Node only): every kernel source file under an engine's kernels directory with the sha256
 * of its bytes and of its closure (what it compiles with, see source-closure.ts), recorded with benchmark results
 * so a changed figure can be traced to a changed kernel, and used by the gate to tell changed kernels from
 * unchanged ones.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KernelSource } from '../engine.js';
import { type ClosureOptions, sourceClosure } from './source-closure.js';

const KERNEL_FILE = /\.(ts|js|wgsl|cu|cuh|h)$/;

/** Every kernel source file under `kernelsDir`, named by its path there and located relative to `packageRoot`. */
export async function hashKernelDirectory(kernelsDir: URL, packageRoot: URL, options: ClosureOptions = {}): Promise<KernelSource[]> {
  const dir = fileURLToPath(kernelsDir);
  const root = fileURLToPath(packageRoot);
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((entry) => entry.isFile() && KERNEL_FILE.test(entry.name) && !entry.name.endsWith('.d.ts'))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
  const sources: KernelSource[] = [];
  for (const file of files) {
    sources.push({
      name: relative(dir, file).replace(/\.(ts|js)$/, ''),
      file: relative(root, file),
      sha256: createHash('sha256').update(await readFile(file)).digest('hex'),
      closureSha256: (await sourceClosure([file], options)).sha256,
    });
  }
  return sources;
}
