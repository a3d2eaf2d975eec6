/**
 * Kernel microbenchmarks and kernel source hashes for the WebGPU engine (the Engine contract's optional
 * `microbenchmarks` and `kernelSources`), at a model's real shapes (default Qwen3-4B): the decode matmul per
 * weight format for every projection (and the tied lm_head), a prefill-chunk GEMM per mode, attention decode at
 * several context lengths, RMSNorm. Each sample is (record, submit, wait). Beside them runs the reference every
 * row is compared with: a device-local buffer copy, the adapter's bandwidth ceiling in this run.
 *
 * Browser-safe: the source hashes need Node (`node:fs`, `node:crypto`), imported dynamically; in a browser
 * `webgpuKernelSources` returns nothing.
 */
import {
  type KernelMode,
  type KernelSource,
  layerProjections,
  MICROBENCHMARK_GEMM_ROWS,
  microbenchmarkContexts,
  microbenchmarkSelected,
  microbenchmarkWorkload,
  type MicrobenchmarkOptions,
  type MicrobenchmarkRow,
  QWEN3_4B_SHAPES,
} from '@quantbench/core';
import { Bench } from 'tinybench';
import { type GpuContext, KernelRunner } from './gpu/index.js';
import { attentionDecodePartialsBytes, recordAttentionDecode } from './kernels/attention-decode.js';
import { recordMatmul } from './kernels/matmul.js';
import { recordRmsNorm } from './kernels/rms-norm.js';

export async function webgpuKernelSources(): Promise<KernelSource[]> {
  const kernels = new URL('./kernels/', import.meta.url);
  if (kernels.protocol !== 'file:' || typeof process === 'undefined' || !process.versions?.node) return [];
  // A computed specifier keeps browser bundlers from pulling Node's fs and crypto into a page.
  const nodeOnly = '@quantbench/core/node';
  const { hashKernelDirectory } = (await import(nodeOnly)) as typeof import('@quantbench/core/node');
  return hashKernelDirectory(kernels, new URL('../', import.meta.url));
}

export async function webgpuMicrobenchmarks(context: GpuContext, options: MicrobenchmarkOptions = {}): Promise<MicrobenchmarkRow[]> {
  const shapes = options.shapes ?? QWEN3_4B_SHAPES;
  const repeats = options.repeats ?? 5;
  const runner = new KernelRunner(context);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const created: GPUBuffer[] = [];
  const buffer = (label: string, bytes: number): GPUBuffer => {
    const made = context.memory.create('microbench', label, bytes, usage);
    created.push(made);
    return made;
  };
  const free = (...buffers: GPUBuffer[]): void => {
    for (const b of buffers) {
      context.memory.destroy(b);
      created.splice(created.indexOf(b), 1);
    }
  };
  // tinybench: one warm-up call (it compiles the pipeline), then `repeats` timed (record, submit, wait) calls.
  const time = async (name: string, record: () => void): Promise<number[]> => {
    const recordSample = microbenchmarkWorkload(name, record, options);
    const bench = new Bench({ iterations: repeats, time: 0, warmupIterations: 1, warmupTime: 0, retainSamples: true });
    bench.add(name, async () => {
      recordSample();
      await runner.finish();
    });
    await bench.run();
    const result = bench.tasks[0]?.result;
    if (result?.state !== 'completed' || !result.latency.samples) {
      throw new Error(`webgpu microbenchmark '${name}' did not complete: ${result?.state === 'errored' ? String(result.error) : result?.state}`);
    }
    return [...result.latency.samples];
  };
  const rows: MicrobenchmarkRow[] = [];
  try {
    // The reference: a device-local copy reads and writes every byte once.
    const copyBytes = (options.quick ? 64 : 256) * 2 ** 20;
    const copySource = buffer('copy source', copyBytes);
    const copyTarget = buffer('copy target', copyBytes);
    options.onProgress?.('webgpu kernels: copy bandwidth');
    const copyName = `copy ${copyBytes / 2 ** 20}MiB`;
    rows.push({ name: copyName, kernel: 'bf16', reference: true, samplesMs: await time(copyName, () => runner.copy(copySource, 0, copyTarget, 0, copyBytes)), bytes: 2 * copyBytes, flops: 0 });
    free(copySource, copyTarget);

    const projections = layerProjections(shapes);
    const widest = Math.max(shapes.intermediateSize, shapes.hiddenSize, shapes.numHeads * shapes.headDim);
    const input = buffer('x', 8 * widest * 4);
    const inputScales = buffer('x scales', 8 * Math.ceil(widest / 128) * 4);
    const output = buffer('y', 8 * Math.max(widest, options.quick ? 0 : shapes.vocabSize) * 4);
    const source = (mode: KernelMode): string => (context.features.software ? 'matmul-per-output' : mode === 'bf16' ? 'gemv-bf16' : `gemv-fp8-${mode}`);
    for (const [projection, outDim, inDim] of projections) {
      for (const mode of ['bf16', 'w8a16', 'w8a8'] as const) {
        const name = `gemv-b1 ${projection} ${outDim}x${inDim} ${mode}`;
        if (!microbenchmarkSelected(name, options)) continue;
        options.onProgress?.(`webgpu kernels: ${name}`);
        const weightBytes = outDim * inDim * (mode === 'bf16' ? 2 : 1);
        const weight = buffer(`${projection} weight`, weightBytes);
        const scales = buffer(`${projection} scales`, Math.ceil(outDim / 128) * Math.ceil(inDim / 128) * 4);
        const job = { mode, weight, scales, input, inputScales, output, rows: 1, inDim, outDim };
        const samplesMs = await time(name, () => recordMatmul(runner, context.features, job));
        rows.push({ name, kernel: mode, reference: false, samplesMs, bytes: weightBytes + inDim * 4 + outDim * 4, flops: 2 * outDim * inDim, source: source(mode) });
        free(weight, scales);
      }
    }
    const lmHead = `gemv-b1 lm_head ${shapes.vocabSize}x${shapes.hiddenSize} bf16`;
    if (!options.quick && microbenchmarkSelected(lmHead, options)) {
      options.onProgress?.(`webgpu kernels: ${lmHead}`);
      const weightBytes = shapes.vocabSize * shapes.hiddenSize * 2;
      const weight = buffer('lm_head', weightBytes);
      const job = { mode: 'bf16' as const, weight, input, output, rows: 1, inDim: shapes.hiddenSize, outDim: shapes.vocabSize };
      const samplesMs = await time(lmHead, () => recordMatmul(runner, context.features, job));
      rows.push({ name: lmHead, kernel: 'bf16', reference: false, samplesMs, bytes: weightBytes, flops: 2 * shapes.vocabSize * shapes.hiddenSize, source: source('bf16') });
      free(weight);
    }
    // Prefill-shaped matmul: a chunk of MICROBENCHMARK_GEMM_ROWS activation rows against the k_proj weight, every kernel mode.
    {
      const outDim = shapes.numKvHeads * shapes.headDim;
      const inDim = shapes.hiddenSize;
      const chunkInput = buffer('x chunk', MICROBENCHMARK_GEMM_ROWS * inDim * 4);
      const chunkScales = buffer('x chunk scales', MICROBENCHMARK_GEMM_ROWS * Math.ceil(inDim / 128) * 4);
      const chunkOutput = buffer('y chunk', MICROBENCHMARK_GEMM_ROWS * outDim * 4);
      const gemmSource = (mode: KernelMode): string => (context.features.software ? 'matmul-per-output' : mode === 'bf16' ? 'gemm-bf16' : `gemm-fp8-${mode}`);
      for (const mode of ['bf16', 'w8a16', 'w8a8'] as const) {
        const name = `gemm-b${MICROBENCHMARK_GEMM_ROWS} k_proj ${outDim}x${inDim} ${mode}`;
        if (!microbenchmarkSelected(name, options)) continue;
        options.onProgress?.(`webgpu kernels: ${name}`);
        const weightBytes = outDim * inDim * (mode === 'bf16' ? 2 : 1);
        const weight = buffer('k_proj weight', weightBytes);
        const scales = buffer('k_proj scales', Math.ceil(outDim / 128) * Math.ceil(inDim / 128) * 4);
        const job = { mode, weight, scales, input: chunkInput, inputScales: chunkScales, output: chunkOutput, rows: MICROBENCHMARK_GEMM_ROWS, inDim, outDim };
        const samplesMs = await time(name, () => recordMatmul(runner, context.features, job));
        rows.push({ name, kernel: mode, reference: false, samplesMs, bytes: weightBytes + MICROBENCHMARK_GEMM_ROWS * (inDim + outDim) * 4, flops: 2 * MICROBENCHMARK_GEMM_ROWS * outDim * inDim, source: gemmSource(mode) });
        free(weight, scales);
      }
      free(chunkInput, chunkScales, chunkOutput);
    }
    for (const positions of microbenchmarkContexts(options)) {
      const name = `attention-decode ctx ${positions}`;
      if (!microbenchmarkSelected(name, options)) continue;
      options.onProgress?.(`webgpu kernels: ${name}`);
      const kvDim = shapes.numKvHeads * shapes.headDim;
      const cacheBytes = positions * kvDim * 4;
      const keys = buffer('keys', cacheBytes);
      const values = buffer('values', cacheBytes);
      const q = buffer('q', shapes.numHeads * shapes.headDim * 4);
      const out = buffer('attention out', shapes.numHeads * shapes.headDim * 4);
      const rowInfo = buffer('row info', 8);
      context.device.queue.writeBuffer(rowInfo, 0, Uint32Array.from([0, positions - 1]));
      const partials = buffer('partials', attentionDecodePartialsBytes(1, shapes.numHeads, shapes.headDim, positions));
      const job = { q, keys, values, rowInfo, out, partials, rows: 1, heads: shapes.numHeads, kvHeads: shapes.numKvHeads, headDim: shapes.headDim, maxContext: positions };
      const samplesMs = await time(name, () => recordAttentionDecode(runner, context.features, job));
      const flops = 4 * shapes.numHeads * shapes.headDim * positions;
      rows.push({ name, kernel: 'bf16', reference: false, samplesMs, bytes: 2 * cacheBytes, flops, source: 'attention-decode' });
      free(keys, values, q, out, rowInfo, partials);
    }
    const normName = `rms-norm ${shapes.hiddenSize}x8`;
    if (microbenchmarkSelected(normName, options)) {
      options.onProgress?.(`webgpu kernels: ${normName}`);
      const weight = buffer('norm weight', shapes.hiddenSize * 4);
      const out = buffer('norm out', 8 * shapes.hiddenSize * 4);
      const samplesMs = await time(normName, () => recordRmsNorm(runner, context.features, { x: input, weight, out, rows: 8, size: shapes.hiddenSize, eps: 1e-6 }));
      rows.push({ name: normName, kernel: 'bf16', reference: false, samplesMs, bytes: 2 * 8 * shapes.hiddenSize * 4 + shapes.hiddenSize * 4, flops: 4 * 8 * shapes.hiddenSize, source: 'rms-norm' });
    }
  } finally {
    for (const b of [...created]) context.memory.destroy(b);
  }
  return rows;
}
