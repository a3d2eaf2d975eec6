/**
 * Kernel microbenchmark cases and kernel source hashes for the CPU engine (the Engine contract's optional
 * `microbenchmarks` and `kernelSources`). Each case runs its kernel on the calling thread (one core, so the figure
 * is the kernel's, not the pool's) at a model's real shapes: GEMV for every projection in every kernel mode, a
 * prefill-chunk GEMM per mode, decode attention at two context lengths, and RMSNorm. The reference every case is
 * compared with is a Float32Array copy, this core's bandwidth ceiling. Timing is core's harness; a slowed case
 * (tests of the gate) runs a larger shape under its nominal name, bytes and FLOPs.
 */
import {
  createRng,
  E4M3_DECODE,
  FP8_BLOCK,
  type KernelMode,
  type KernelSource,
  layerProjections,
  MICROBENCHMARK_GEMM_ROWS,
  type MicrobenchmarkCase,
  type MicrobenchmarkShapes,
  microbenchmarkContexts,
  type MicrobenchmarkSuite,
  type MicrobenchmarkSuiteOptions,
  QWEN3_4B_SHAPES,
  slowedDimension,
} from '@quantbench/core';
import { hashKernelDirectory } from '@quantbench/core/node';
import { attendOne } from './kernels/attention.js';
import { matmulBf16 } from './kernels/matmul-bf16.js';
import { matmulFp8W8a16 } from './kernels/matmul-fp8-w8a16.js';
import { matmulFp8W8a8 } from './kernels/matmul-fp8-w8a8.js';
import { rmsNorm } from './kernels/rms-norm.js';

export function cpuKernelSources(): Promise<KernelSource[]> {
  return hashKernelDirectory(new URL('./kernels/', import.meta.url), new URL('../', import.meta.url));
}

/** Seeded with core's RNG, so every run benchmarks the same numbers. */
function randomFloats(count: number, seed: number, scale = 1): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (rng.nextU32() / 2 ** 32 - 0.5) * 2 * scale;
  return out;
}

function randomBf16(count: number, seed: number): Uint16Array {
  const floats = randomFloats(count, seed, 0.05);
  return Uint16Array.from(new Uint32Array(floats.buffer), (bits) => bits >>> 16);
}

/** E4M3 codes, never NaN (0x7f / 0xff). */
function randomE4m3(count: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const code = rng.nextU32() & 0xff;
    out[i] = (code & 0x7f) === 0x7f ? code ^ 1 : code;
  }
  return out;
}

const positiveFloats = (count: number, seed: number): Float32Array => randomFloats(count, seed, 0.01).map(Math.abs);

const SOURCE: Record<KernelMode, string> = { bf16: 'matmul-bf16', w8a16: 'matmul-fp8-w8a16', w8a8: 'matmul-fp8-w8a8' };

/**
 * y = x·Wᵀ for `rows` activation rows in one kernel mode, with seeded data (seeds offset per projection); a slowed
 * case (tests of the gate) computes more output rows than its name says.
 */
function matmulCase(name: string, mode: KernelMode, rows: number, nominalOutDim: number, inDim: number, seed: number, options: MicrobenchmarkSuiteOptions): MicrobenchmarkCase {
  const weightBytes = nominalOutDim * inDim * (mode === 'bf16' ? 2 : 1);
  const outDim = slowedDimension(name, nominalOutDim, options.slowdowns);
  return {
    name,
    kernel: mode,
    reference: false,
    singleThread: true,
    bytes: weightBytes + rows * (inDim + nominalOutDim) * 4,
    flops: 2 * rows * nominalOutDim * inDim,
    source: SOURCE[mode],
    async prepare() {
      const y = new Float32Array(rows * outDim);
      const scratch = new Float32Array(inDim);
      const scaleInv = positiveFloats(Math.ceil(outDim / FP8_BLOCK) * Math.ceil(inDim / FP8_BLOCK), seed + 2);
      let run: () => void;
      if (mode === 'bf16') {
        const x = randomFloats(rows * inDim, seed + 3);
        const bits = randomBf16(outDim * inDim, seed);
        run = () => matmulBf16(y, x, bits, rows, inDim, outDim, 0, outDim, scratch);
      } else if (mode === 'w8a16') {
        const x = randomFloats(rows * inDim, seed + 3);
        const codes = randomE4m3(outDim * inDim, seed + 1);
        run = () => matmulFp8W8a16(y, x, codes, scaleInv, rows, inDim, outDim, 0, outDim, scratch);
      } else {
        const xq = Float32Array.from(randomE4m3(rows * inDim, seed + 4), (code) => E4M3_DECODE[code]!);
        const xs = positiveFloats(rows * Math.ceil(inDim / FP8_BLOCK), seed + 5);
        const codes = randomE4m3(outDim * inDim, seed + 1);
        run = () => matmulFp8W8a8(y, xq, xs, codes, scaleInv, rows, inDim, outDim, 0, outDim, scratch);
      }
      return { run, dispose: () => {} };
    },
  };
}

function copyCase(options: MicrobenchmarkSuiteOptions): MicrobenchmarkCase {
  // Read + write every byte of 64 MiB once.
  const floats = 16 * 2 ** 20;
  return {
    name: 'copy 64MiB',
    kernel: 'bf16',
    reference: true,
    singleThread: true,
    bytes: 2 * floats * 4,
    flops: 0,
    async prepare() {
      const count = slowedDimension('copy 64MiB', floats, options.slowdowns);
      const source = randomFloats(count, 1);
      const target = new Float32Array(count);
      return { run: () => target.set(source), dispose: () => {} };
    },
  };
}

function attentionCase(nominalPositions: number, shapes: MicrobenchmarkShapes, options: MicrobenchmarkSuiteOptions): MicrobenchmarkCase {
  const kvDim = shapes.numKvHeads * shapes.headDim;
  const name = `attention-decode ctx ${nominalPositions}`;
  const positions = slowedDimension(name, nominalPositions, options.slowdowns);
  return {
    name,
    kernel: 'bf16',
    reference: false,
    singleThread: true,
    bytes: 2 * nominalPositions * kvDim * 4,
    flops: 4 * shapes.numHeads * shapes.headDim * nominalPositions,
    source: 'attention',
    async prepare() {
      const keys = randomFloats(positions * kvDim, 16);
      const values = randomFloats(positions * kvDim, 17);
      const q = randomFloats(shapes.numHeads * shapes.headDim, 18);
      const out = new Float32Array(shapes.numHeads * shapes.headDim);
      const scores = new Float64Array(positions);
      const accumulator = new Float64Array(shapes.headDim);
      const run = () => attendOne(out, 0, q, 0, keys, values, positions - 1, shapes.numHeads, shapes.numKvHeads, shapes.headDim, scores, accumulator);
      return { run, dispose: () => {} };
    },
  };
}

function rmsNormCase(size: number, options: MicrobenchmarkSuiteOptions): MicrobenchmarkCase {
  const nominalRows = 256;
  const name = `rms-norm ${size}x${nominalRows}`;
  const rows = slowedDimension(name, nominalRows, options.slowdowns);
  return {
    name,
    kernel: 'bf16',
    reference: false,
    singleThread: true,
    bytes: 2 * nominalRows * size * 4 + size * 4,
    flops: 4 * nominalRows * size,
    source: 'rms-norm',
    async prepare() {
      const input = randomFloats(rows * size, 8);
      const out = new Float32Array(input.length);
      const weight = randomFloats(size, 9);
      return { run: () => rmsNorm(out, input, weight, rows, size, 1e-6), dispose: () => {} };
    },
  };
}

export async function cpuMicrobenchmarks(options: MicrobenchmarkSuiteOptions = {}): Promise<MicrobenchmarkSuite> {
  const shapes = options.shapes ?? QWEN3_4B_SHAPES;
  const cases: MicrobenchmarkCase[] = [copyCase(options)];
  for (const [index, [projection, outDim, inDim]] of layerProjections(shapes).entries()) {
    for (const mode of ['bf16', 'w8a16', 'w8a8'] as const) {
      cases.push(matmulCase(`gemv-b1 ${projection} ${outDim}x${inDim} ${mode}`, mode, 1, outDim, inDim, 100 + 10 * index, options));
    }
  }
  // Prefill-shaped matmul: a chunk of activation rows against the k_proj weight.
  const kvDim = shapes.numKvHeads * shapes.headDim;
  for (const mode of ['bf16', 'w8a16', 'w8a8'] as const) {
    cases.push(matmulCase(`gemm-b${MICROBENCHMARK_GEMM_ROWS} k_proj ${kvDim}x${shapes.hiddenSize} ${mode}`, mode, MICROBENCHMARK_GEMM_ROWS, kvDim, shapes.hiddenSize, 200, options));
  }
  for (const positions of microbenchmarkContexts(options)) cases.push(attentionCase(positions, shapes, options));
  cases.push(rmsNormCase(shapes.hiddenSize, options));
  return { cases, dispose: async () => {} };
}
