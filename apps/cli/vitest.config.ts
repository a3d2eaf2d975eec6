import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

/** The gate's own tests run apart (vitest.gate.config.ts, the `test:gate` task), after every other suite. */
export default mergeConfig(shared, defineConfig({ test: { exclude: ['test/gate/**', 'node_modules/**'] } }));
