/**
 * Kernel microbenchmarks and kernel source hashes for the CPU engine (the Engine contract's optional
 * `microbenchmarks` and `kernelSources`). Each kernel runs on the calling thread (one core, so the figure is the
 * kernel's, not the pool's) at a model's real shapes: GEMV for every projection in every kernel mode, a
 * prefill-chunk GEMM per mode, decode attention at two context lengths, and RMSNorm. Beside them runs the reference every row is compared with: a Float32Array copy, whose GB/s is this
 * core's bandwidth ceiling in this run, timed once on its own and once after every kernel sample (the pairs cancel
 * machine load that changes while the benchmarks run).
 */
import {
  createRng,
  E4M3_DECODE,
  FP8_BLOCK,
  type KernelMode,
  layerProjections,
  MICROBENCHMARK_GEMM_ROWS,
  microbenchmarkContexts,
  microbenchmarkSelected,
  microbenchmarkWorkload,
  type KernelSource,
  type MicrobenchmarkOptions,
  type MicrobenchmarkRow,
  QWEN3_4B_SHAPES,
} from '@quantbench/core';
import { hashKernelDirectory } from '@quantbench/core/node';
import { matmulBf16 } from './kernels/matmul-bf16.js';
import { matmulFp8W8a16 } from './kernels/matmul-fp8-w8a16.js';
import { matmulFp8W8a8 } from './kernels/matmul-fp8-w8a8.js';
import { attendOne } from './kernels/attention.js';
import { rmsNorm } from './kernels/rms-norm.js';

export function cpuKernelSources(): Promise<KernelSource[]> {
  return hashKernelDirectory(new URL('./kernels/', import.meta.url), new URL('../', import.meta.url));
}

/** Seeded with core's RNG, so every run benchmarks the same numbers. */
function randomFloats(count: number, seed: number, scale = 1): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: count }, () => (rng.nextU32() / 2 ** 32 - 0.5) * 2 * scale);
}

function randomBf16(count: number, seed: number): Uint16Array {
  const floats = randomFloats(count, seed, 0.05);
  return Uint16Array.from(new Uint32Array(floats.buffer), (bits) => bits >>> 16);
}

/** E4M3 codes, never NaN (0x7f / 0xff). */
function randomE4m3(count: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  return Uint8Array.from({ length: count }, () => {
    const code = rng.nextU32() & 0xff;
    return (code & 0x7f) === 0x7f ? code ^ 1 : code;
  });
}

/**
 * Warm-up before timing. V8 tiers a kernel up over several calls (measured: the first 9 timed calls of a cold w8a16
 * GEMV ran 2× slower than the same kernel later in the process), so a fixed count is not enough: after at least
 * WARM_UP_CALLS calls and WARM_UP_MS, warming goes on until WARM_UP_STABLE_CALLS calls in a row beat the best so
 * far by less than 5%, or until WARM_UP_MAX_MS.
 */
const WARM_UP_MS = 250;
const WARM_UP_CALLS = 3;
const WARM_UP_STABLE_CALLS = 5;
const WARM_UP_MAX_MS = 3000;

function warmUp(run: () => void): void {
  const start = performance.now();
  let best = Number.POSITIVE_INFINITY;
  let callsWithoutGain = 0;
  for (let calls = 1; ; calls++) {
    const ms = timeOnce(run);
    callsWithoutGain = ms < 0.95 * best ? 0 : callsWithoutGain + 1;
    best = Math.min(best, ms);
    const elapsed = performance.now() - start;
    if (calls >= WARM_UP_CALLS && (elapsed >= WARM_UP_MAX_MS || (elapsed >= WARM_UP_MS && callsWithoutGain >= WARM_UP_STABLE_CALLS))) return;
  }
}

function timeOnce(run: () => void): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

function time(run: () => void, repeats: number): number[] {
  warmUp(run);
  return Array.from({ length: repeats }, () => timeOnce(run));
}

/**
 * Times a kernel with the reference probe run right after each sample, so each pair sees the same machine load.
 * Timed here rather than with tinybench (which times engine speed and the WebGPU kernels): a pair needs its samples
 * in the order they ran, and tinybench keeps only its sorted latencies.
 */
function timePaired(run: () => void, repeats: number, probe: () => void): Pick<MicrobenchmarkRow, 'samplesMs' | 'referenceSamplesMs'> {
  warmUp(run);
  const samplesMs: number[] = [];
  const referenceSamplesMs: number[] = [];
  for (let i = 0; i < repeats; i++) {
    samplesMs.push(timeOnce(run));
    referenceSamplesMs.push(timeOnce(probe));
  }
  return { samplesMs, referenceSamplesMs };
}

export async function cpuMicrobenchmarks(options: MicrobenchmarkOptions = {}): Promise<MicrobenchmarkRow[]> {
  const shapes = options.shapes ?? QWEN3_4B_SHAPES;
  const repeats = options.repeats ?? 5;
  const rows: MicrobenchmarkRow[] = [];
  const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  // The reference: copy 64 MiB (read + write every byte once).
  const copyFloats = 16 * 2 ** 20;
  const copySource = randomFloats(copyFloats, 1);
  const copyTarget = new Float32Array(copyFloats);
  options.onProgress?.('cpu kernels: copy bandwidth');
  const copy = (): void => copyTarget.set(copySource);
  rows.push({ name: 'copy 64MiB', kernel: 'bf16', reference: true, samplesMs: time(copy, Math.max(repeats, 5)), bytes: 2 * copyFloats * 4, flops: 0 });
  const timed = (name: string, kernel: () => void, count = repeats) => timePaired(microbenchmarkWorkload(name, kernel, options), count, copy);

  const projections = layerProjections(shapes);
  const widest = Math.max(...projections.map(([, , inDim]) => inDim));
  const x = randomFloats(widest, 2);
  const xq = Float32Array.from(randomE4m3(widest, 3), (code) => E4M3_DECODE[code]!);
  const xs = randomFloats(Math.ceil(widest / FP8_BLOCK), 4, 0.01).map(Math.abs);
  const scratch = new Float32Array(widest);
  const source: Record<KernelMode, string> = { bf16: 'matmul-bf16', w8a16: 'matmul-fp8-w8a16', w8a8: 'matmul-fp8-w8a8' };
  for (const [projection, outDim, inDim] of projections) {
    const bits = randomBf16(outDim * inDim, 5);
    const codes = randomE4m3(outDim * inDim, 6);
    const scaleInv = randomFloats(Math.ceil(outDim / FP8_BLOCK) * Math.ceil(inDim / FP8_BLOCK), 7, 0.01).map(Math.abs);
    const y = new Float32Array(outDim);
    for (const mode of ['bf16', 'w8a16', 'w8a8'] as const) {
      const name = `gemv-b1 ${projection} ${outDim}x${inDim} ${mode}`;
      if (!microbenchmarkSelected(name, options)) continue;
      options.onProgress?.(`cpu kernels: ${name}`);
      const kernel =
        mode === 'bf16'
          ? () => matmulBf16(y, x, bits, 1, inDim, outDim, 0, outDim, scratch)
          : mode === 'w8a16'
            ? () => matmulFp8W8a16(y, x, codes, scaleInv, 1, inDim, outDim, 0, outDim, scratch)
            : () => matmulFp8W8a8(y, xq, xs, codes, scaleInv, 1, inDim, outDim, 0, outDim, scratch);
      const weightBytes = outDim * inDim * (mode === 'bf16' ? 2 : 1);
      rows.push({
        name,
        kernel: mode,
        reference: false,
        ...timed(name, kernel),
        bytes: weightBytes + inDim * 4 + outDim * 4,
        flops: 2 * outDim * inDim,
        source: source[mode],
      });
      await yieldToEventLoop();
    }
  }
  // Prefill-shaped matmul: a chunk of MICROBENCHMARK_GEMM_ROWS activation rows against the k_proj weight, every kernel mode.
  {
    const outDim = shapes.numKvHeads * shapes.headDim;
    const inDim = shapes.hiddenSize;
    const xs64 = randomFloats(MICROBENCHMARK_GEMM_ROWS * inDim, 10);
    const xq64 = Float32Array.from(randomE4m3(MICROBENCHMARK_GEMM_ROWS * inDim, 11), (code) => E4M3_DECODE[code]!);
    const xScales64 = randomFloats(MICROBENCHMARK_GEMM_ROWS * Math.ceil(inDim / FP8_BLOCK), 12, 0.01).map(Math.abs);
    const bits = randomBf16(outDim * inDim, 13);
    const codes = randomE4m3(outDim * inDim, 14);
    const scaleInv = randomFloats(Math.ceil(outDim / FP8_BLOCK) * Math.ceil(inDim / FP8_BLOCK), 15, 0.01).map(Math.abs);
    const y = new Float32Array(MICROBENCHMARK_GEMM_ROWS * outDim);
    for (const mode of ['bf16', 'w8a16', 'w8a8'] as const) {
      const name = `gemm-b${MICROBENCHMARK_GEMM_ROWS} k_proj ${outDim}x${inDim} ${mode}`;
      if (!microbenchmarkSelected(name, options)) continue;
      options.onProgress?.(`cpu kernels: ${name}`);
      const kernel =
        mode === 'bf16'
          ? () => matmulBf16(y, xs64, bits, MICROBENCHMARK_GEMM_ROWS, inDim, outDim, 0, outDim, scratch)
          : mode === 'w8a16'
            ? () => matmulFp8W8a16(y, xs64, codes, scaleInv, MICROBENCHMARK_GEMM_ROWS, inDim, outDim, 0, outDim, scratch)
            : () => matmulFp8W8a8(y, xq64, xScales64, codes, scaleInv, MICROBENCHMARK_GEMM_ROWS, inDim, outDim, 0, outDim, scratch);
      rows.push({
        name,
        kernel: mode,
        reference: false,
        ...timed(name, kernel),
        bytes: outDim * inDim * (mode === 'bf16' ? 2 : 1) + MICROBENCHMARK_GEMM_ROWS * (inDim + outDim) * 4,
        flops: 2 * MICROBENCHMARK_GEMM_ROWS * outDim * inDim,
        source: source[mode],
      });
      await yieldToEventLoop();
    }
  }
  // Decode attention of one token over contexts of several lengths (one sequence, every head).
  for (const positions of microbenchmarkContexts(options)) {
    const name = `attention-decode ctx ${positions}`;
    if (!microbenchmarkSelected(name, options)) continue;
    options.onProgress?.(`cpu kernels: ${name}`);
    const kvDim = shapes.numKvHeads * shapes.headDim;
    const keys = randomFloats(positions * kvDim, 16);
    const values = randomFloats(positions * kvDim, 17);
    const q = randomFloats(shapes.numHeads * shapes.headDim, 18);
    const out = new Float32Array(shapes.numHeads * shapes.headDim);
    const scores = new Float64Array(positions);
    const accumulator = new Float64Array(shapes.headDim);
    const kernel = () => attendOne(out, 0, q, 0, keys, values, positions - 1, shapes.numHeads, shapes.numKvHeads, shapes.headDim, scores, accumulator);
    rows.push({
      name,
      kernel: 'bf16',
      reference: false,
      ...timed(name, kernel),
      bytes: 2 * positions * kvDim * 4,
      flops: 4 * shapes.numHeads * shapes.headDim * positions,
      source: 'attention',
    });
    await yieldToEventLoop();
  }
  {
    const name = `rms-norm ${shapes.hiddenSize}x256`;
    if (microbenchmarkSelected(name, options)) {
      const rowsCount = 256;
      const input = randomFloats(rowsCount * shapes.hiddenSize, 8);
      const out = new Float32Array(input.length);
      const weight = randomFloats(shapes.hiddenSize, 9);
      options.onProgress?.(`cpu kernels: ${name}`);
      const kernel = () => rmsNorm(out, input, weight, rowsCount, shapes.hiddenSize, 1e-6);
      rows.push({
        name,
        kernel: 'bf16',
        reference: false,
        ...timed(name, kernel, Math.max(repeats, 5)),
        bytes: 2 * input.length * 4 + shapes.hiddenSize * 4,
        flops: 4 * input.length,
        source: 'rms-norm',
      });
    }
  }
  return rows;
}
