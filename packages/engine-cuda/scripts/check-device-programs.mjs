#!/usr/bin/env node
/**
 * Compiles the standalone programs device/run.sh builds on a GPU machine (the kernel tests and kernel_bench) without
 * linking, warnings as errors, so they cannot rot between GPU sessions. Part of the package's build, which turbo
 * caches on the native sources: a machine compiles them once per change, not once per test run.
 *
 * Where nvcc is missing this is skipped with a note, unless CI=true or QUANTBENCH_REQUIRE_CUDA=1 (as the addon).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findNvcc } from './find-nvcc.mjs';

const native = join(dirname(fileURLToPath(import.meta.url)), '..', 'native');
const required = process.env.CI === 'true' || process.env.CI === '1' || process.env.QUANTBENCH_REQUIRE_CUDA === '1';
const PROGRAMS = ['test/test_matmul.cu', 'test/test_layer_kernels.cu', 'bench/kernel_bench.cu'];

const nvcc = findNvcc();
if (!nvcc) {
  console.error('CUDA device programs not compiled: nvcc not found (install the CUDA toolkit 12.8+ or set CUDACXX)');
  process.exit(required ? 1 : 0);
}

const started = Date.now();
const out = mkdtempSync(join(tmpdir(), 'qb-nvcc-'));
try {
  const results = await Promise.allSettled(
    PROGRAMS.map((program, i) =>
      promisify(execFile)(nvcc, ['-std=c++17', '-O3', '-arch=sm_90', '-Werror', 'all-warnings', '-Ikernels', '-Itest', '-DQB_NO_CUBLASLT', '-c', program, '-o', join(out, `${i}.o`)], {
        cwd: native,
        maxBuffer: 16 * 2 ** 20,
      }),
    ),
  );
  const failed = results.flatMap((result, i) => (result.status === 'rejected' ? [`native/${PROGRAMS[i]}:\n${result.reason.stderr || result.reason.message}`] : []));
  if (failed.length > 0) {
    console.error(`CUDA device programs do not compile cleanly (nvcc ${nvcc}, -Werror):\n${failed.join('\n')}`);
    process.exit(1);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
console.log(`CUDA device programs compiled without warnings (${PROGRAMS.join(', ')}) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
