/**
 * WebGPU kernel benchmarks at the real Qwen3-4B shapes (the engine's `microbenchmarks`, src/microbench.ts): decode
 * GEMV per weight format (BF16, FP8 w8a16, FP8 w8a8) for every projection and the lm_head, attention decode at
 * several context lengths, RMSNorm. Each figure is the median over repeats of (record, submit, wait), with the
 * bytes the kernel must read, the achieved GB/s and its fraction of a buffer-copy bandwidth measured on the same
 * adapter in the same run. `pnpm bench` runs the same benchmarks inside the full matrix. Usage (repo root):
 *   pnpm --filter @quantbench/engine-webgpu bench:kernels [--quick]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRunReport, describeEnvironment, summarize } from '@quantbench/bench';
import type { ResultRow } from '@quantbench/core';
import { createGpuContext } from '../src/gpu/index.js';
import { webgpuKernelSources, webgpuMicrobenchmarks } from '../src/microbench.js';

const { values } = parseArgs({ args: process.argv.slice(2).filter((arg) => arg !== '--'), options: { quick: { type: 'boolean', default: false } } });
const context = await createGpuContext();
const micro = await webgpuMicrobenchmarks(context, { quick: values.quick, repeats: values.quick ? 3 : 8, onProgress: (message) => console.error(message) });
const reference = micro.find((row) => row.reference)!;
const copyGBps = reference.bytes / (summarize(reference.samplesMs).median / 1000) / 1e9;
const report = await createRunReport({
  reportsDir: fileURLToPath(new URL('../../../reports', import.meta.url)),
  name: 'webgpu-kernels',
  environment: describeEnvironment({ engine: 'webgpu', adapter: context.description, copyGBps, kernelSources: { webgpu: await webgpuKernelSources() } }),
});
const base = { runId: report.runId, commit: describeEnvironment().commit, engine: 'webgpu', device: context.description, thinking: 'n/a', seed: null } as const;
const rows: ResultRow[] = [];
console.log(`adapter: ${context.description}\ncopy bandwidth ${copyGBps.toFixed(2)} GB/s\n`);
console.log('kernel                                    median ms    GB/s   of copy');
for (const row of micro) {
  const time = summarize(row.samplesMs);
  const gbps = row.bytes / (time.median / 1000) / 1e9;
  const common = { ...base, format: row.kernel === 'bf16' ? 'bf16' : 'fp8', kernel: row.kernel, task: row.name, n: time.n } as const;
  rows.push({ ...common, metric: 'median_ms', value: time.median, unit: 'ms', ciLow: time.low, ciHigh: time.high });
  rows.push({ ...common, metric: 'gb_per_s', value: gbps, unit: 'GB/s', ciLow: null, ciHigh: null });
  if (!row.reference) rows.push({ ...common, metric: 'fraction_of_copy_bandwidth', value: gbps / copyGBps, unit: 'ratio', ciLow: null, ciHigh: null });
  console.log(`${row.name.padEnd(40)} ${time.median.toFixed(3).padStart(10)} ${gbps.toFixed(2).padStart(7)} ${((100 * gbps) / copyGBps).toFixed(1).padStart(7)}%`);
}
await report.add(rows);
console.log(`\nreport: ${report.dir}`);
context.destroy();
