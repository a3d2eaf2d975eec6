/**
 * The matmul kernels (GEMV for rows ≤ 8, tiled GEMM beyond; BF16, FP8 w8a16, FP8 w8a8) against float64 CPU
 * references computed from the very bytes the GPU reads: BF16 weights decoded with core's `bf16ArrayToF32`, FP8
 * codes and block scales made by core's `quantizeBlockFp8` and read back with `E4M3_DECODE`, w8a8 activations made
 * by core's `quantizeActivationsFp8`.
 *
 * Accuracy bound: max |y − ref| / max |ref| < 1e-5 per case. The inputs are exact (the reference reads the same
 * bf16 / e4m3 / f32 values and sums in float64), so the error is the GPU's f32 rounding alone (u = 2^-24 ≈ 6e-8 per
 * operation): the GEMVs sum a few terms per invocation and then a log2(64)-deep tree, the GEMMs sum all K products
 * of an output sequentially in one register. For random zero-mean data a sequential f32 sum of K terms drifts like a
 * random walk: the running sum is ~√k · |term| at step k, so the error is ~u · K · |term| ≈ u · √K · |y|, i.e.
 * ~1.6e-6 relative for K = 704 (GEMM), and far less for the GEMV's short per-invocation sums plus tree. The cases
 * measure 5e-8 … 2e-6 of max|ref| (printed at the end). The bound 1e-5 keeps a 5× margin over the GEMM's
 * expected drift, while any real mistake (a wrong element, scale, block, bound or stride) is an error of 1e-3 or
 * more. (A true worst case, u · K · Σ|terms| / |y|, would be ~1e-3 and is not what random data produce.)
 */
import {
  bf16ArrayToF32,
  E4M3_DECODE,
  f32ArrayToBf16,
  quantizeActivationsFp8,
  quantizeBlockFp8,
} from '@quantbench/core';
import { afterAll, describe, expect, it } from 'vitest';
import type { KernelRunner } from '../src/gpu/index.js';
import { type MatmulMode, recordMatmul, recordQuantizeActivations } from '../src/kernels/matmul.js';
import { empty, gpu, readF32, runner, upload } from './gpu-harness.js';
import { random } from './seeded-random.js';

const BLOCK = 128;
const TOLERANCE = 1e-5;


function normals(rand: () => number, n: number, sigma = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = 1 - rand();
    out[i] = sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  }
  return out;
}

/** Weights whose 128 × 128 blocks have magnitudes 2^-3 .. 2^3 apart, so every FP8 block scale differs. */
function blockyWeights(rand: () => number, outDim: number, inDim: number): Float32Array {
  const w = normals(rand, outDim * inDim, 0.05);
  const cols = Math.ceil(inDim / BLOCK);
  const factors = Array.from({ length: Math.ceil(outDim / BLOCK) * cols }, () => 2 ** (6 * rand() - 3));
  for (let o = 0; o < outDim; o++) {
    for (let i = 0; i < inDim; i++) w[o * inDim + i]! *= factors[Math.floor(o / BLOCK) * cols + Math.floor(i / BLOCK)]!;
  }
  return w;
}

interface Case {
  readonly mode: MatmulMode;
  readonly rows: number;
  readonly inDim: number;
  readonly outDim: number;
  readonly subgroups: boolean;
  /** Use the per-output kernel that software adapters run. */
  readonly software?: boolean;
  readonly outStride?: number;
  readonly outOffset?: number;
}

interface Prepared {
  /** Bytes for the GPU. */
  readonly weight: ArrayBufferView;
  readonly scales?: Float32Array;
  readonly input: Float32Array;
  readonly inputScales?: Float32Array;
  /** float64 reference [rows, outDim]. */
  readonly reference: Float64Array;
}

function prepare(c: Case, seed: number): Prepared {
  const { mode, rows, inDim, outDim } = c;
  const rand = random(seed);
  const x = normals(rand, rows * inDim);
  // A few outliers per row, as real activations have.
  for (let r = 0; r < rows; r++) x[r * inDim + Math.floor(rand() * inDim)]! *= 20;
  const w = blockyWeights(rand, outDim, inDim);
  const reference = new Float64Array(rows * outDim);
  const scaleCols = Math.ceil(inDim / BLOCK);
  if (mode === 'bf16') {
    const bits = f32ArrayToBf16(w);
    const wf = bf16ArrayToF32(bits);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < outDim; o++) {
        let sum = 0;
        for (let i = 0; i < inDim; i++) sum += x[r * inDim + i]! * wf[o * inDim + i]!;
        reference[r * outDim + o] = sum;
      }
    }
    return { weight: bits, input: x, reference };
  }
  const { codes, scaleInv } = quantizeBlockFp8(w, outDim, inDim);
  const wv = (o: number, i: number): number => E4M3_DECODE[codes[o * inDim + i]!]!;
  const ws = (o: number, i: number): number => scaleInv[Math.floor(o / BLOCK) * scaleCols + Math.floor(i / BLOCK)]!;
  if (mode === 'w8a16') {
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < outDim; o++) {
        let sum = 0;
        for (let i = 0; i < inDim; i++) sum += x[r * inDim + i]! * (wv(o, i) * ws(o, i));
        reference[r * outDim + o] = sum;
      }
    }
    return { weight: codes, scales: scaleInv, input: x, reference };
  }
  const xq = quantizeActivationsFp8(x, rows, inDim);
  const values = Float32Array.from(xq.codes, (code) => E4M3_DECODE[code]!);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let sum = 0;
      for (let b = 0; b < scaleCols; b++) {
        let partial = 0;
        for (let i = b * BLOCK; i < Math.min(inDim, (b + 1) * BLOCK); i++) partial += values[r * inDim + i]! * wv(o, i);
        sum += partial * xq.scales[r * scaleCols + b]! * ws(o, b * BLOCK);
      }
      reference[r * outDim + o] = sum;
    }
  }
  return { weight: codes, scales: scaleInv, input: values, inputScales: xq.scales, reference };
}

/** Runs `body` inside validation and internal-error scopes, failing on any GPU error. */
async function checked<T>(body: () => Promise<T>): Promise<T> {
  const { device } = await gpu();
  device.pushErrorScope('validation');
  device.pushErrorScope('internal');
  const result = await body();
  const internal = await device.popErrorScope();
  const validation = await device.popErrorScope();
  expect(internal?.message ?? null).toBeNull();
  expect(validation?.message ?? null).toBeNull();
  return result;
}

const SENTINEL = 7.25;
const measured: string[] = [];

async function runCase(run: KernelRunner, c: Case, seed: number): Promise<number> {
  const ctx = await gpu();
  const prepared = prepare(c, seed);
  const outStride = c.outStride ?? c.outDim;
  const outOffset = c.outOffset ?? 0;
  const weight = await upload(prepared.weight, 'weight');
  const input = await upload(prepared.input, 'input');
  const scales = prepared.scales ? await upload(prepared.scales, 'scales') : undefined;
  const inputScales = prepared.inputScales ? await upload(prepared.inputScales, 'input scales') : undefined;
  const output = await upload(new Float32Array(c.rows * outStride).fill(SENTINEL), 'output');
  try {
    const y = await checked(async () => {
      recordMatmul(run, { subgroups: c.subgroups, software: c.software ?? false }, {
        mode: c.mode,
        weight,
        input,
        output,
        rows: c.rows,
        inDim: c.inDim,
        outDim: c.outDim,
        ...(scales ? { scales } : {}),
        ...(inputScales ? { inputScales } : {}),
        ...(c.outStride !== undefined ? { outStride: c.outStride } : {}),
        ...(c.outOffset !== undefined ? { outOffset: c.outOffset } : {}),
      });
      return readF32(run, output, c.rows * outStride);
    });
    let maxRef = 0;
    let maxErr = 0;
    for (let r = 0; r < c.rows; r++) {
      for (let col = 0; col < outStride; col++) {
        const got = y[r * outStride + col]!;
        const o = col - outOffset;
        if (o < 0 || o >= c.outDim) {
          if (got !== SENTINEL) throw new Error(`wrote outside its columns at row ${r}, column ${col}: ${got}`);
          continue;
        }
        const ref = prepared.reference[r * c.outDim + o]!;
        maxRef = Math.max(maxRef, Math.abs(ref));
        maxErr = Math.max(maxErr, Math.abs(got - ref));
      }
    }
    const rel = maxErr / maxRef;
    measured.push(`${c.mode} rows ${c.rows} [${c.outDim}×${c.inDim}]${c.subgroups ? ' sg' : ''}${c.software ? ' per-output' : ''}: ${rel.toExponential(2)}`);
    return rel;
  } finally {
    for (const b of [weight, input, scales, inputScales, output]) if (b) ctx.memory.destroy(b);
  }
}

const MODES: readonly MatmulMode[] = ['bf16', 'w8a16', 'w8a8'];
const SHAPES = [
  { inDim: 256, outDim: 200 },
  { inDim: 704, outDim: 320 },
] as const;

describe('matmul kernels', () => {
  afterAll(() => {
    console.log(`max relative error per case:\n  ${measured.join('\n  ')}`);
  });

  let seed = 1;
  for (const mode of MODES) {
    for (const subgroups of [false, true]) {
      it(`GEMV ${mode}, subgroups ${subgroups}: rows 1, 3, 8 × inDim 256, 704 × outDim 200, 320`, async () => {
        const run = await runner();
        for (const rows of [1, 3, 8]) {
          for (const shape of SHAPES) {
            expect(await runCase(run, { mode, rows, ...shape, subgroups }, seed++)).toBeLessThan(TOLERANCE);
          }
        }
      });
    }
    it(`GEMM ${mode}: rows 9, 17, 64, 70 × inDim 256, 704 × outDim 200, 320`, async () => {
      const run = await runner();
      for (const rows of [9, 17, 64, 70]) {
        for (const shape of SHAPES) {
          expect(await runCase(run, { mode, rows, ...shape, subgroups: false }, seed++)).toBeLessThan(TOLERANCE);
        }
      }
    });
    it(`per-output (software adapters) ${mode}: rows 1, 3, 9, 17 (partial row groups) × inDim 256, 704 × outDim 200, 320, and a window`, async () => {
      const run = await runner();
      let seed = 700;
      for (const rows of [1, 3, 9, 17]) {
        for (const shape of [{ inDim: 256, outDim: 200 }, { inDim: 704, outDim: 320 }]) {
          expect(await runCase(run, { mode, rows, ...shape, subgroups: false, software: true }, seed++)).toBeLessThan(TOLERANCE);
        }
      }
      expect(await runCase(run, { mode, rows: 2, inDim: 256, outDim: 200, subgroups: false, software: true, outStride: 300, outOffset: 50 }, seed++)).toBeLessThan(TOLERANCE);
    });

    it(`${mode}: ragged shapes (inDim not a multiple of the K-tile, outDim ≤ one tile) and an output window`, async () => {
      const run = await runner();
      const inDim = mode === 'bf16' ? 258 : 132;
      for (const rows of [2, 8, 11]) {
        for (const subgroups of rows <= 8 ? [false, true] : [false]) {
          expect(await runCase(run, { mode, rows, inDim, outDim: 37, subgroups }, seed++)).toBeLessThan(TOLERANCE);
          const window = { outStride: 200 + 13, outOffset: 9 };
          expect(await runCase(run, { mode, rows, inDim: 256, outDim: 200, subgroups, ...window }, seed++)).toBeLessThan(TOLERANCE);
        }
      }
    });
  }

  it('quantises activations on the GPU and feeds them to the w8a8 GEMV and GEMM', async () => {
    const run = await runner();
    const ctx = await gpu();
    for (const rows of [4, 20]) {
      const c: Case = { mode: 'w8a8', rows, inDim: 704, outDim: 200, subgroups: ctx.features.subgroups };
      const prepared = prepare(c, 900 + rows);
      // prepare() quantised x with core; recover an x whose core quantisation is those very values and scales
      // (x = value · scale with power-of-two scales is exact), so GPU and core must agree bit for bit.
      const rand = random(77 + rows);
      const groups = Math.ceil(c.inDim / BLOCK);
      const scales = Float32Array.from({ length: rows * groups }, () => 2 ** Math.floor(-12 + 8 * rand()));
      const x = new Float32Array(rows * c.inDim);
      for (let r = 0; r < rows; r++) {
        for (let i = 0; i < c.inDim; i++) x[r * c.inDim + i] = prepared.input[r * c.inDim + i]! * scales[r * groups + Math.floor(i / BLOCK)]!;
      }
      const core = quantizeActivationsFp8(x, rows, c.inDim);
      const input = await upload(x, 'x');
      const values = await empty(x.byteLength, 'values');
      const xScales = await empty(rows * groups * 4, 'x scales');
      const { codes, scaleInv } = quantizeBlockFp8(blockyWeights(random(5), c.outDim, c.inDim), c.outDim, c.inDim);
      const weight = await upload(codes, 'weight');
      const wScales = await upload(scaleInv, 'weight scales');
      const output = await empty(rows * c.outDim * 4);
      const y = await checked(async () => {
        recordQuantizeActivations(run, { input, values, scales: xScales, rows, dim: c.inDim });
        recordMatmul(run, ctx.features, { mode: 'w8a8', weight, scales: wScales, input: values, inputScales: xScales, output, rows, inDim: c.inDim, outDim: c.outDim });
        return readF32(run, output, rows * c.outDim);
      });
      const gotScales = await readF32(run, xScales, rows * groups);
      expect(Array.from(gotScales)).toEqual(Array.from(core.scales));
      // float64 reference from core's quantisation of x.
      let maxRef = 0;
      let maxErr = 0;
      for (let r = 0; r < rows; r++) {
        for (let o = 0; o < c.outDim; o++) {
          let sum = 0;
          for (let b = 0; b < groups; b++) {
            let partial = 0;
            for (let i = b * BLOCK; i < Math.min(c.inDim, (b + 1) * BLOCK); i++) {
              partial += E4M3_DECODE[core.codes[r * c.inDim + i]!]! * E4M3_DECODE[codes[o * c.inDim + i]!]!;
            }
            sum += partial * core.scales[r * groups + b]! * scaleInv[Math.floor(o / BLOCK) * groups + b]!;
          }
          maxRef = Math.max(maxRef, Math.abs(sum));
          maxErr = Math.max(maxErr, Math.abs(y[r * c.outDim + o]! - sum));
        }
      }
      measured.push(`quantise + w8a8 rows ${rows}: ${(maxErr / maxRef).toExponential(2)}`);
      expect(maxErr / maxRef).toBeLessThan(TOLERANCE);
      for (const b of [input, values, xScales, weight, wScales, output]) ctx.memory.destroy(b);
    }
  });

  it('runs the tiny model lm_head GEMV (outDim 151936 × inDim 256, a 2-D grid) and two column halves into one buffer', async () => {
    const run = await runner();
    const ctx = await gpu();
    const outDim = 151936;
    const inDim = 256;
    const rows = 2;
    const rand = random(4242);
    // Random bf16 bit patterns: random sign and mantissa, magnitudes 2^-8 .. 2^-1.
    const bits = new Uint16Array(outDim * inDim);
    for (let i = 0; i < bits.length; i++) {
      const r = (rand() * 4294967296) >>> 0;
      bits[i] = ((r & 1) << 15) | ((119 + ((r >>> 1) % 8)) << 7) | ((r >>> 4) & 0x7f);
    }
    const x = normals(rand, rows * inDim);
    const weight = await upload(bits, 'lm_head');
    const input = await upload(x, 'x');
    const logits = await upload(new Float32Array(rows * outDim).fill(Number.NaN), 'logits');
    // The second half of the vocabulary as its own weight buffer, written into columns [split, outDim).
    const split = 75968;
    const halfWeight = await upload(bits.subarray(split * inDim), 'lm_head half');
    const halves = await upload(new Float32Array(rows * outDim).fill(Number.NaN), 'logits by halves');
    const [y, z] = await checked(async () => {
      recordMatmul(run, ctx.features, { mode: 'bf16', weight, input, output: logits, rows, inDim, outDim });
      recordMatmul(run, ctx.features, { mode: 'bf16', weight, input, output: halves, rows, inDim, outDim: split, outStride: outDim });
      recordMatmul(run, ctx.features, {
        mode: 'bf16',
        weight: halfWeight,
        input,
        output: halves,
        rows,
        inDim,
        outDim: outDim - split,
        outStride: outDim,
        outOffset: split,
      });
      return [await readF32(run, logits, rows * outDim), await readF32(run, halves, rows * outDim)] as const;
    });
    expect(y.every(Number.isFinite)).toBe(true);
    expect(Array.from(z)).toEqual(Array.from(y));
    const sample = [0, 1, 65534, 65535, 65536, 131070, 131071, 131072, split - 1, split, outDim - 2, outDim - 1];
    for (let k = 0; k < 40; k++) sample.push(Math.floor(rand() * outDim));
    let maxRef = 0;
    let maxErr = 0;
    for (const o of sample) {
      const row = bf16ArrayToF32(bits.subarray(o * inDim, (o + 1) * inDim));
      for (let r = 0; r < rows; r++) {
        let sum = 0;
        for (let i = 0; i < inDim; i++) sum += x[r * inDim + i]! * row[i]!;
        maxRef = Math.max(maxRef, Math.abs(sum));
        maxErr = Math.max(maxErr, Math.abs(y[r * outDim + o]! - sum));
      }
    }
    measured.push(`lm_head bf16 rows ${rows} [${outDim}×${inDim}] sampled: ${(maxErr / maxRef).toExponential(2)}`);
    expect(maxErr / maxRef).toBeLessThan(TOLERANCE);
    for (const b of [weight, input, logits, halfWeight, halves]) ctx.memory.destroy(b);
  });
});
