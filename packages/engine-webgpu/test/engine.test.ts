import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEngineContract } from '@quantbench/core/testing';
import { ensureSyntheticCheckpoints } from '@quantbench/model';
import { createWebGpuEngine } from '../src/index.js';

// Decode runs the GEMV kernels and prefill the tiled GEMM ones; both sum in f32 in different orders, so logits
// that the contract wants equal agree to float32 rounding (logits here have a standard deviation of about 4).
describeEngineContract('webgpu', {
  createEngine: () => createWebGpuEngine({ prefillChunk: 8 }),
  checkpoints: () => ensureSyntheticCheckpoints({ preset: 'tiny', seed: 1, cacheDir: join(tmpdir(), 'quantbench-test-checkpoints') }),
  tolerance: 2e-3,
});
