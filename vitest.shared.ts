import { defineConfig } from 'vitest/config';

/**
 * Tests run the workspace packages from source: the `@quantbench/source` export condition points at src/*.ts.
 * Vite resolves for the SSR (Node) environment with `ssr.resolve`, so the condition goes in both places.
 */
const conditions = ['@quantbench/source', 'node', 'import', 'module', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@quantbench/source'] } },
  // No wall-clock limits: a test may not fail because the machine is slow or busy (speed is the benchmarks' job).
  // A hang is bounded by the CI job's limit.
  test: { include: ['test/**/*.test.ts'], testTimeout: 0, hookTimeout: 0 },
});
