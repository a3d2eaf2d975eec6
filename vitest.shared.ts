import { defineConfig } from 'vitest/config';

/**
 * Tests run the workspace packages from source: the `@quantbench/source` export condition points at src/*.ts.
 * Vite resolves for the SSR (Node) environment with `ssr.resolve`, so the condition goes in both places.
 */
const conditions = ['@quantbench/source', 'node', 'import', 'module', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@quantbench/source'] } },
  test: { include: ['test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 120_000 },
});
