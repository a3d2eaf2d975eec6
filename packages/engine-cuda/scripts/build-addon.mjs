#!/usr/bin/env node
/**
 * Builds the CUDA addon (build/Release/quantbench_cuda.node) with cmake-js, CMake's CUDA language and nvcc.
 * Node-API only: headers come from the node-api-headers and node-addon-api packages, nothing is downloaded.
 * CMake's make files keep the build incremental (objects newer than their sources are not recompiled).
 *
 * Where nvcc is missing the addon is skipped with a note and the build succeeds, unless CI=true or
 * QUANTBENCH_REQUIRE_CUDA=1, where a missing toolkit fails the build. With nvcc present a failed compile always fails.
 *
 * Environment: CUDACXX (nvcc to use), CUDA_PATH / CUDA_HOME (toolkit root), QUANTBENCH_CUDA_ARCHS (CMake CUDA
 * architectures, default "80-real;89-real;90"), QUANTBENCH_CUDA_JOBS (parallel compiles, default: CPU count).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { findNvcc } from './find-nvcc.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const required = process.env.CI === 'true' || process.env.CI === '1' || process.env.QUANTBENCH_REQUIRE_CUDA === '1';

const nvcc = findNvcc();
if (!nvcc) {
  console.error('CUDA engine not built: nvcc not found (install the CUDA toolkit 12.8+ or set CUDACXX)');
  process.exit(required ? 1 : 0);
}

// cmake-js drives CMake, which must be on PATH (3.18+ for the CUDA language; Debian: apt-get install cmake).
if (spawnSync('cmake', ['--version'], { stdio: 'ignore' }).status !== 0) {
  console.error('CUDA engine not built: cmake not found (install CMake 3.18+; nvcc is at ' + nvcc + ')');
  process.exit(required ? 1 : 0);
}

const started = Date.now();
const jobs = Number(process.env.QUANTBENCH_CUDA_JOBS) || availableParallelism();
const args = [
  require.resolve('cmake-js/bin/cmake-js'),
  'build',
  '--directory', root,
  '--out', join(root, 'build'),
  '--config', 'Release',
  '--parallel', String(jobs),
  '--prefer-make',
  '--log-level', 'warn',
  '--CDCMAKE_CUDA_COMPILER=' + nvcc,
];
if (process.env.QUANTBENCH_CUDA_ARCHS) args.push(`--CDQB_CUDA_ARCHITECTURES=${process.env.QUANTBENCH_CUDA_ARCHS}`);
const result = spawnSync(process.execPath, args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, CUDACXX: nvcc, PATH: `${dirname(nvcc)}${delimiter}${process.env.PATH ?? ''}` },
});
const addon = join(root, 'build', 'Release', 'quantbench_cuda.node');
if (result.status !== 0 || !existsSync(addon)) {
  // nvcc is here, so a failed compile is a real error (not a missing toolkit) and fails the build everywhere.
  console.error(`CUDA addon build failed (exit ${result.status ?? result.signal})`);
  process.exit(1);
}
// napi_* symbols stay undefined (node provides them at load); an undefined qb:: symbol is a kernel launcher that no
// native/kernels/*.cu defines yet, which would abort the process at its first call: refuse such an addon.
const nm = spawnSync('nm', ['-D', '--undefined-only', addon], { encoding: 'utf8' });
if (nm.status === 0) {
  const missing = nm.stdout.split('\n').map((line) => line.trim().split(/\s+/).pop() ?? '').filter((name) => name.startsWith('_ZN2qb'));
  if (missing.length > 0) {
    const names = spawnSync('c++filt', missing, { encoding: 'utf8' }).stdout?.trim().split('\n') ?? missing;
    console.error(`CUDA addon build failed: undefined kernel symbols (is native/kernels/ complete?):\n  ${names.join('\n  ')}`);
    rmSync(addon);
    process.exit(1);
  }
}
console.log(`CUDA addon built with ${nvcc} in ${((Date.now() - started) / 1000).toFixed(1)} s: ${addon}`);
