import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

/** `pnpm gate` benchmarks: alone on the machine, after every other test suite (turbo's `test:gate`). */
const config = mergeConfig(shared, defineConfig({ test: { fileParallelism: false } }));
// mergeConfig concatenates arrays: the include list is replaced, not extended.
config.test!.include = ['test/gate/**/*.test.ts'];
export default config;
