import { describe, expect, it } from 'vitest';
import { microbenchmarkContexts, microbenchmarkSelected, microbenchmarkWorkload, SLOWED_KERNEL_FACTOR } from '../src/index.js';

describe('microbenchmark options shared by the engines', () => {
  it('selects kernels by substring, every kernel when `only` is unset or empty', () => {
    expect(microbenchmarkSelected('gemv-b1 k_proj 1024x2560 w8a8', {})).toBe(true);
    expect(microbenchmarkSelected('gemv-b1 k_proj 1024x2560 w8a8', { only: [] })).toBe(true);
    expect(microbenchmarkSelected('gemv-b1 k_proj 1024x2560 w8a8', { only: ['rms-norm', 'k_proj'] })).toBe(true);
    expect(microbenchmarkSelected('gemv-b1 q_proj 4096x2560 w8a8', { only: ['k_proj'] })).toBe(false);
  });

  it('runs a slowed kernel SLOWED_KERNEL_FACTOR times per sample and any other kernel once', () => {
    let calls = 0;
    const run = (): void => void calls++;
    expect(microbenchmarkWorkload('gemv-b1 q_proj bf16', run, { slowedKernels: ['k_proj'] })).toBe(run);
    microbenchmarkWorkload('gemv-b1 k_proj bf16', run, { slowedKernels: ['k_proj'] })();
    expect(calls).toBe(SLOWED_KERNEL_FACTOR);
    expect(SLOWED_KERNEL_FACTOR).toBeGreaterThan(1);
  });

  it('drops the long attention context in quick runs', () => {
    expect(microbenchmarkContexts({ quick: true })).toEqual([512]);
    expect(microbenchmarkContexts({})).toEqual([512, 2048]);
  });
});
