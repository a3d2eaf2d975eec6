/**
 * The Engine contract on the CUDA engine. It needs a CUDA device of compute capability 8.0+; elsewhere the suite is
 * reported as skipped with the probe's reason in its name.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEngineContract } from '@quantbench/core/testing';
import { ensureSyntheticCheckpoints } from '@quantbench/model';
import { describe, it } from 'vitest';
import { createCudaEngine } from '../src/index.js';
import { cuda, cudaSuiteLabel } from './cuda-status.js';

if (cuda.available) {
  // Decode runs the GEMV kernels and prefill the tensor-core GEMMs; both sum in f32 in different orders, so logits
  // that the contract wants equal agree to float32 rounding (logits here have a standard deviation of about 4).
  describeEngineContract('cuda', {
    createEngine: () => createCudaEngine({ prefillChunk: 8 }),
    checkpoints: () => ensureSyntheticCheckpoints({ preset: 'tiny', seed: 1, cacheDir: join(tmpdir(), 'quantbench-test-checkpoints') }),
    tolerance: 2e-3,
  });
} else {
  describe.skip(`cuda engine: the Engine contract (${cudaSuiteLabel})`, () => {
    it('runs the Engine contract suite', () => {});
  });
}
