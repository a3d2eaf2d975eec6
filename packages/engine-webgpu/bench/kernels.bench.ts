/**
 * WebGPU kernel benchmarks at the real Qwen3-4B shapes (the engine's `microbenchmarks`, src/microbench.ts): decode
 * GEMV per weight format (BF16, FP8 w8a16, FP8 w8a8) for every projection and the lm_head, attention decode at
 * several context lengths, RMSNorm. Each figure is the median over repeats of (record, submit, wait), with the
 * bytes the kernel must read, the achieved GB/s and its fraction of a buffer-copy bandwidth measured on the same
 * adapter in the same run, as rows and a table exactly as `pnpm bench` writes them inside the full matrix.
 * Usage (repo root):
 *   pnpm --filter @quantbench/engine-webgpu bench:kernels [--quick]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRunReport, describeEnvironment, formatBenchTables, microbenchRows } from '@quantbench/bench';
import { runMicrobenchmarks } from '@quantbench/core';
import { createGpuContext } from '../src/gpu/index.js';
import { webgpuKernelSources, webgpuMicrobenchmarkCases } from '../src/microbench.js';

const { values } = parseArgs({ args: process.argv.slice(2).filter((arg) => arg !== '--'), options: { quick: { type: 'boolean', default: false } } });
const context = await createGpuContext();
const micro = await runMicrobenchmarks(
  { cases: webgpuMicrobenchmarkCases(context, { quick: values.quick }), dispose: async () => {} },
  { repeats: values.quick ? 3 : 8, onProgress: (message) => console.error(message) },
);
const report = await createRunReport({
  reportsDir: fileURLToPath(new URL('../../../reports', import.meta.url)),
  name: 'webgpu-kernels',
  environment: describeEnvironment({ engine: 'webgpu', adapter: context.description, kernelSources: { webgpu: await webgpuKernelSources() } }),
});
const rows = microbenchRows(micro, { runId: report.runId, commit: describeEnvironment().commit, engine: 'webgpu', device: context.description, thinking: 'n/a', seed: null });
await report.add(rows);
console.log(`adapter: ${context.description}\n\n${formatBenchTables(rows)}\n\nreport: ${report.dir}`);
context.destroy();
