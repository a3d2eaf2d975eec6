/**
 * WebGPU kernel benchmarks at the real Qwen3-4B shapes: decode GEMV per weight format (BF16, FP8 w8a16, FP8 w8a8)
 * for every projection, attention decode at several context lengths, RMSNorm. Each figure is tinybench's median
 * over repeats of (record, submit, wait), with the bytes the kernel must read, the achieved GB/s and its fraction
 * of a buffer-copy bandwidth measured on the same adapter in the same run. Usage (repo root):
 *   pnpm --filter @quantbench/engine-webgpu bench:kernels [--quick]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRunReport, describeEnvironment } from '@quantbench/bench';
import type { ResultRow } from '@quantbench/core';
import { PRESETS } from '@quantbench/model';
import { Bench } from 'tinybench';
import { createGpuContext, KernelRunner } from '../src/gpu/index.js';
import { attentionDecodePartialsBytes, recordAttentionDecode } from '../src/kernels/attention-decode.js';
import { type MatmulMode, recordMatmul } from '../src/kernels/matmul.js';
import { recordRmsNorm } from '../src/kernels/rms-norm.js';

const { values } = parseArgs({ args: process.argv.slice(2).filter((arg) => arg !== '--'), options: { quick: { type: 'boolean', default: false } } });
const iterations = values.quick ? 3 : 8;
const config = PRESETS['qwen3-4b'];
const context = await createGpuContext();
const runner = new KernelRunner(context);
const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const buffer = (label: string, bytes: number): GPUBuffer => context.memory.create('bench', label, bytes, usage);

async function median(task: () => void): Promise<{ ms: number; samples: number; rme: number }> {
  const bench = new Bench({ iterations, time: 0, warmupIterations: 1, warmupTime: 0 });
  bench.add('kernel', async () => {
    task();
    await runner.finish();
  });
  await bench.run();
  const result = bench.tasks[0]!.result;
  if (result.state !== 'completed') throw new Error(`benchmark failed: ${result.state === 'errored' ? String(result.error) : result.state}`);
  return { ms: result.latency.p50, samples: result.latency.samplesCount, rme: result.latency.rme };
}

// The ceiling: a device-local buffer copy reads and writes every byte once.
const copyBytes = 256 * 2 ** 20;
const copySource = buffer('copy source', copyBytes);
const copyTarget = buffer('copy target', copyBytes);
const copy = await median(() => runner.copy(copySource, 0, copyTarget, 0, copyBytes));
const copyGBps = (2 * copyBytes) / (copy.ms / 1000) / 1e9;
context.memory.destroy(copySource);
context.memory.destroy(copyTarget);

const report = await createRunReport({
  reportsDir: fileURLToPath(new URL('../../../reports', import.meta.url)),
  name: 'webgpu-kernels',
  environment: describeEnvironment({ engine: 'webgpu', adapter: context.description, copyGBps }),
});
const base = { runId: report.runId, commit: describeEnvironment().commit, engine: 'webgpu', device: context.description, thinking: 'n/a', seed: null } as const;
const rows: ResultRow[] = [
  { ...base, format: 'bf16', kernel: 'bf16', task: 'copy-256MiB', metric: 'gb_per_s', value: copyGBps, unit: 'GB/s', n: copy.samples, ciLow: null, ciHigh: null },
];
console.log(`adapter: ${context.description}\ncopy bandwidth ${copyGBps.toFixed(2)} GB/s\n`);
console.log('kernel                              mode    median ms    GB/s   of copy');

function record(task: string, mode: MatmulMode, ms: number, samples: number, bytes: number): void {
  const gbps = bytes / (ms / 1000) / 1e9;
  const format = mode === 'bf16' ? 'bf16' : 'fp8';
  const common = { ...base, format, kernel: mode, task, n: samples, ciLow: null, ciHigh: null } as const;
  rows.push({ ...common, metric: 'median_ms', value: ms, unit: 'ms' });
  rows.push({ ...common, metric: 'gb_per_s', value: gbps, unit: 'GB/s' });
  rows.push({ ...common, metric: 'fraction_of_copy_bandwidth', value: gbps / copyGBps, unit: 'ratio' });
  console.log(`${task.padEnd(35)} ${mode.padEnd(6)} ${ms.toFixed(3).padStart(10)} ${gbps.toFixed(2).padStart(7)} ${(100 * gbps / copyGBps).toFixed(1).padStart(7)}%`);
}

const shapes: [string, number, number][] = [
  ['q_proj', config.numHeads * config.headDim, config.hiddenSize],
  ['k_proj', config.numKvHeads * config.headDim, config.hiddenSize],
  ['o_proj', config.hiddenSize, config.numHeads * config.headDim],
  ['gate_proj', config.intermediateSize, config.hiddenSize],
  ['down_proj', config.hiddenSize, config.intermediateSize],
];
const widest = config.intermediateSize;
const input = buffer('x', 8 * widest * 4);
const inputScales = buffer('x scales', 8 * Math.ceil(widest / 128) * 4);
const output = buffer('y', 8 * config.vocabSize * 4);
for (const [name, outDim, inDim] of shapes) {
  for (const mode of ['bf16', 'w8a16', 'w8a8'] as const) {
    const weightBytes = outDim * inDim * (mode === 'bf16' ? 2 : 1);
    const weight = buffer(`${name} weight`, weightBytes);
    const scales = buffer(`${name} scales`, Math.ceil(outDim / 128) * Math.ceil(inDim / 128) * 4);
    const job = { mode, weight, scales, input, inputScales, output, rows: 1, inDim, outDim };
    const result = await median(() => recordMatmul(runner, context.features, job));
    record(`gemv-b1 ${name} ${outDim}x${inDim}`, mode, result.ms, result.samples, weightBytes + inDim * 4 + outDim * 4);
    context.memory.destroy(weight);
    context.memory.destroy(scales);
  }
}
{
  const weightBytes = config.vocabSize * config.hiddenSize * 2;
  const weight = buffer('lm_head', weightBytes);
  const result = await median(() => recordMatmul(runner, context.features, { mode: 'bf16', weight, input, output, rows: 1, inDim: config.hiddenSize, outDim: config.vocabSize }));
  record(`gemv-b1 lm_head ${config.vocabSize}x${config.hiddenSize}`, 'bf16', result.ms, result.samples, weightBytes);
  context.memory.destroy(weight);
}
for (const positions of values.quick ? [512] : [512, 2048, 8192]) {
  const kvDim = config.numKvHeads * config.headDim;
  const cacheBytes = positions * kvDim * 4;
  const keys = buffer('keys', cacheBytes);
  const valuesCache = buffer('values', cacheBytes);
  const q = buffer('q', config.numHeads * config.headDim * 4);
  const out = buffer('attention out', config.numHeads * config.headDim * 4);
  const rowInfo = buffer('row info', 8);
  context.device.queue.writeBuffer(rowInfo, 0, Uint32Array.from([0, positions - 1]));
  const partials = buffer('partials', attentionDecodePartialsBytes(1, config.numHeads, config.headDim, positions));
  const job = { q, keys, values: valuesCache, rowInfo, out, partials, rows: 1, heads: config.numHeads, kvHeads: config.numKvHeads, headDim: config.headDim, maxContext: positions };
  const result = await median(() => recordAttentionDecode(runner, context.features, job));
  record(`attention-decode ctx ${positions}`, 'bf16', result.ms, result.samples, 2 * cacheBytes);
  for (const b of [keys, valuesCache, q, out, rowInfo, partials]) context.memory.destroy(b);
}
{
  const weight = buffer('norm weight', config.hiddenSize * 4);
  const out = buffer('norm out', 8 * config.hiddenSize * 4);
  const result = await median(() => recordRmsNorm(runner, context.features, { x: input, weight, out, rows: 1, size: config.hiddenSize, eps: config.rmsNormEps }));
  record(`rms-norm ${config.hiddenSize}`, 'bf16', result.ms, result.samples, 3 * config.hiddenSize * 4);
}
await report.add(rows);
console.log(`\nreport: ${report.dir}`);
context.destroy();
