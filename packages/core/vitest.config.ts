import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@quantbench/source'] },
  test: { include: ['test/**/*.test.ts'], testTimeout: 60_000 },
});
