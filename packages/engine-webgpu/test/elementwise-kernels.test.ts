/**
 * Element-wise and row kernels against float64 references computed here. Tolerances: the GPU works in f32, so a
 * value built from a handful of f32 roundings (a product of three terms, a quotient, an exp) is within a few ulp
 * (f32 ulp = 2^-23 ≈ 1.2e-7 relative) of the exact result; sums of squares over 9,728 values accumulate in f32
 * over ~38 terms per invocation and then a tree, which stays far below 1e-5 relative. 1e-5 relative is therefore a
 * bound with ample margin that still catches any real mistake (a wrong index, eps outside the root, a missing
 * weight). The BF16 gather is exact (a shift).
 */
import { describe, expect, it } from 'vitest';
import { recordEmbeddingGather } from '../src/kernels/embedding-gather.js';
import { recordResidualAdd } from '../src/kernels/residual-add.js';
import { recordRmsNorm } from '../src/kernels/rms-norm.js';
import { recordSwiglu } from '../src/kernels/swiglu.js';
import { empty, readF32, runner, upload } from './gpu-harness.js';
import { random } from './seeded-random.js';


function uniform(next: () => number, count: number, low: number, high: number): Float32Array {
  return Float32Array.from({ length: count }, () => low + (high - low) * next());
}

function expectClose(got: Float32Array, want: Float64Array, relative: number, label: string): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const error = Math.abs(got[i]! - want[i]!) / Math.max(Math.abs(want[i]!), 1e-30);
    if (!(error <= worst)) {
      worst = error;
      at = i;
    }
  }
  expect(worst, `${label}: worst relative error ${worst} at ${at} (got ${got[at]}, want ${want[at]})`).toBeLessThanOrEqual(relative);
}

describe('embedding-gather', () => {
  for (const hidden of [300, 37]) {
    it(`gathers BF16 rows from a table split in two chunks (hidden ${hidden})`, async () => {
      const run = await runner();
      const next = random(11 + hidden);
      const vocab = 50;
      const split = 23;
      const bits = Uint16Array.from({ length: vocab * hidden }, () => Math.floor(next() * 65536) & 0xff7f);
      const tokens = Uint32Array.from([3, 49, 22, 23, 0, 3, 40, 31]);
      const rows = tokens.length;
      // Each chunk is its own buffer, padded to whole u32 words as WebGPU buffers are.
      const padded = (part: Uint16Array): Uint16Array => {
        const words = new Uint16Array(part.length + (part.length % 2));
        words.set(part);
        return words;
      };
      const chunk0 = await upload(padded(bits.slice(0, split * hidden)));
      const chunk1 = await upload(padded(bits.slice(split * hidden)));
      const tokenBuffer = await upload(tokens);
      const out = await upload(new Float32Array(rows * hidden).fill(-7));
      const job = { tokens: tokenBuffer, out, rows, hidden };
      recordEmbeddingGather(run, run.context.features, { ...job, table: chunk0, rowStart: 0, tableRows: split });
      const half = await readF32(run, out, rows * hidden);
      recordEmbeddingGather(run, run.context.features, { ...job, table: chunk1, rowStart: split, tableRows: vocab - split });
      const full = new Uint32Array((await readF32(run, out, rows * hidden)).buffer);
      const halfBits = new Uint32Array(half.buffer);
      const sentinel = new Uint32Array(Float32Array.of(-7).buffer)[0]!;
      tokens.forEach((token, r) => {
        for (let i = 0; i < hidden; i++) {
          const want = bits[token * hidden + i]! << 16;
          expect(full[r * hidden + i]! >>> 0).toBe(want >>> 0);
          expect(halfBits[r * hidden + i]! >>> 0).toBe(token < split ? want >>> 0 : sentinel);
        }
      });
    });
  }
});

describe.each([false, true])('rms-norm (subgroups %s)', (subgroups) => {
  for (const size of [256, 9728]) {
    for (const rows of [1, 37]) {
      it(`normalises ${rows} rows of ${size}`, async () => {
        const run = await runner();
        const next = random(size * 100 + rows + (subgroups ? 1 : 0));
        const x = uniform(next, rows * size, -3, 3);
        for (let r = 0; r < rows; r++) x[r * size + 5] = 40 * (r % 3) - 20; // an outlier per row, as Qwen3 has
        const weight = uniform(next, size, -1.5, 1.5);
        const eps = 1e-6;
        const out = await empty(rows * size * 4);
        recordRmsNorm(run, { subgroups }, { x: await upload(x), weight: await upload(weight), out, rows, size, eps });
        const got = await readF32(run, out, rows * size);
        const want = new Float64Array(rows * size);
        for (let r = 0; r < rows; r++) {
          let squares = 0;
          for (let i = 0; i < size; i++) squares += x[r * size + i]! ** 2;
          const inverse = 1 / Math.sqrt(squares / size + eps);
          for (let i = 0; i < size; i++) want[r * size + i] = x[r * size + i]! * inverse * weight[i]!;
        }
        expectClose(got, want, 1e-5, 'rms-norm');
      });
    }
  }

  it('keeps eps inside the root for a zero row', async () => {
    const run = await runner();
    const size = 64;
    const x = new Float32Array(2 * size);
    x.fill(1e-4, size);
    const out = await empty(2 * size * 4);
    recordRmsNorm(run, { subgroups }, { x: await upload(x), weight: await upload(new Float32Array(size).fill(2)), out, rows: 2, size, eps: 1e-6 });
    const got = await readF32(run, out, 2 * size);
    expect(got[0]).toBe(0);
    expect(got[size]).toBeCloseTo((2e-4 / Math.sqrt(1e-8 + 1e-6)), 5);
  });
});

describe('swiglu and residual add', () => {
  it('computes silu(gate) · up, with no overflow for very negative gates', async () => {
    const run = await runner();
    const next = random(5);
    const rows = 3;
    const intermediate = 9728;
    const count = rows * intermediate;
    const gate = uniform(next, count, -12, 12);
    const up = uniform(next, count, -4, 4);
    gate.set([-1e4, -200, -89, -88, 0, -0, 88, 200, 1e4, -3.4e38, 3.4e38], 0);
    up.set([1.5, -2, 3, 0.5, 1, 1, -0.25, 0.75, 0.5, 0.5, 0.5], 0); // keep silu(g)·up inside f32 range
    const out = await empty(count * 4);
    recordSwiglu(run, run.context.features, { gate: await upload(gate), up: await upload(up), out, count });
    const got = await readF32(run, out, count);
    const want = Float64Array.from(gate, (g, i) => (g / (1 + Math.exp(-g))) * up[i]!);
    for (let i = 0; i < count; i++) {
      // Past g ≈ −87, e^g is an f32 subnormal, which GPUs may flush to zero: allow 1e-30 absolute there.
      const error = Math.abs(got[i]! - want[i]!);
      if (!(error <= 1e-5 * Math.abs(want[i]!) + 1e-30)) expect.fail(`swiglu ${i}: gate ${gate[i]} up ${up[i]} got ${got[i]} want ${want[i]}`);
    }
  });

  it('adds y into x in place', async () => {
    const run = await runner();
    const next = random(6);
    const count = 37 * 2560 + 3;
    const x = uniform(next, count, -10, 10);
    const y = uniform(next, count, -10, 10);
    const xBuffer = await upload(x);
    recordResidualAdd(run, run.context.features, { x: xBuffer, y: await upload(y), count });
    const got = await readF32(run, xBuffer, count);
    // One f32 addition: the result is the correctly rounded sum, exactly what Math.fround gives.
    for (let i = 0; i < count; i++) if (got[i] !== Math.fround(x[i]! + y[i]!)) expect.fail(`residual ${i}: ${got[i]} ≠ ${x[i]} + ${y[i]}`);
  });
});
