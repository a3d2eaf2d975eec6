import { describe, expect, it } from 'vitest';
import type { KernelRunner } from '../src/gpu/index.js';
import { ATTENTION_DECODE_CHUNK, attentionDecodePartialsBytes, recordAttentionDecode } from '../src/kernels/attention-decode.js';
import { recordAttentionPrefill } from '../src/kernels/attention-prefill.js';
import { empty, gpu, readF32, runner, upload } from './gpu-harness.js';
import { random as rng } from './seeded-random.js';

/**
 * Accuracy: the output is a convex combination of V rows, so its rounding error scales with the weighted absolute
 * magnitude Σ_p w_p·|V_p,d| rather than with |out_d| (which cancellation can make tiny). Each (row, head) must
 * satisfy max_d |gpu − ref| ≤ TOLERANCE · max_d Σ_p w_p·|V_p,d|. f32 rounding of the headDim-term score dot
 * products (~√headDim·2^-24 relative, scores of order 1–5 here), of exp (a few ulp), and of the sums over up
 * to ~1000 positions and splits keep this near 1e-6; 1e-5 leaves a margin for SwiftShader's exp and summation order.
 */
const TOLERANCE = 1e-5;

const SHAPES = [
  { heads: 4, kvHeads: 2, headDim: 64 },
  { heads: 32, kvHeads: 8, headDim: 128 },
] as const;

type Shape = (typeof SHAPES)[number];


/** Approximately normal values (sum of 4 uniforms), scaled. */
function randoms(count: number, seed: number, scale = 1): Float32Array {
  const next = rng(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (next() + next() + next() + next() - 2) * 1.7320508 * scale;
  return out;
}

interface Cache {
  readonly maxBatch: number;
  readonly maxContext: number;
  readonly keys: Float32Array;
  readonly values: Float32Array;
}

function cacheIndex(shape: Shape, cache: Cache, slot: number, position: number, g: number): number {
  return ((slot * cache.maxContext + position) * shape.kvHeads + g) * shape.headDim;
}

function randomCache(shape: Shape, maxBatch: number, maxContext: number, seed: number): Cache {
  const size = maxBatch * maxContext * shape.kvHeads * shape.headDim;
  return { maxBatch, maxContext, keys: randoms(size, seed), values: randoms(size, seed + 1) };
}

/** A copy of `cache` with NaN and ±1e30 in every position after `valid(slot)`. */
function withGarbage(shape: Shape, cache: Cache, valid: (slot: number) => number): Cache {
  const keys = cache.keys.slice();
  const values = cache.values.slice();
  const garbage = [Number.NaN, 1e30, -1e30, Number.POSITIVE_INFINITY];
  for (let slot = 0; slot < cache.maxBatch; slot++) {
    const from = cacheIndex(shape, cache, slot, valid(slot) + 1, 0);
    const to = cacheIndex(shape, cache, slot + 1, 0, 0);
    for (let i = from; i < to; i++) {
      keys[i] = garbage[i % 4]!;
      values[i] = garbage[(i + 1) % 4]!;
    }
  }
  return { ...cache, keys, values };
}

/** Float64 reference for one row: out [heads, headDim] and the weighted magnitudes Σ w|V| per (head, d). */
function reference(shape: Shape, cache: Cache, q: Float32Array, qRow: number, slot: number, position: number): { out: Float64Array; magnitude: Float64Array } {
  const { heads, kvHeads, headDim } = shape;
  const out = new Float64Array(heads * headDim);
  const magnitude = new Float64Array(heads * headDim);
  const scores = new Float64Array(position + 1);
  const scale = 1 / Math.sqrt(headDim);
  for (let h = 0; h < heads; h++) {
    const g = Math.floor(h / (heads / kvHeads));
    const qBase = (qRow * heads + h) * headDim;
    let max = -Infinity;
    for (let p = 0; p <= position; p++) {
      const k = cacheIndex(shape, cache, slot, p, g);
      let s = 0;
      for (let d = 0; d < headDim; d++) s += q[qBase + d]! * cache.keys[k + d]!;
      scores[p] = s * scale;
      max = Math.max(max, scores[p]!);
    }
    let total = 0;
    for (let p = 0; p <= position; p++) {
      scores[p] = Math.exp(scores[p]! - max);
      total += scores[p]!;
    }
    for (let p = 0; p <= position; p++) {
      const w = scores[p]! / total;
      const v = cacheIndex(shape, cache, slot, p, g);
      for (let d = 0; d < headDim; d++) {
        const value = cache.values[v + d]!;
        out[h * headDim + d] = out[h * headDim + d]! + w * value;
        magnitude[h * headDim + d] = magnitude[h * headDim + d]! + w * Math.abs(value);
      }
    }
  }
  return { out, magnitude };
}

/** Checks `got` rows [firstRow + i] against the references; returns the worst relative error seen. */
function check(shape: Shape, got: Float32Array, firstRow: number, refs: readonly { out: Float64Array; magnitude: Float64Array }[], what: string): number {
  const { heads, headDim } = shape;
  let worst = 0;
  refs.forEach((ref, i) => {
    for (let h = 0; h < heads; h++) {
      let err = 0;
      let mag = 0;
      for (let d = 0; d < headDim; d++) {
        const value = got[((firstRow + i) * heads + h) * headDim + d]!;
        if (!Number.isFinite(value)) throw new Error(`${what}: row ${i} head ${h} dim ${d} is ${value}`);
        err = Math.max(err, Math.abs(value - ref.out[h * headDim + d]!));
        mag = Math.max(mag, ref.magnitude[h * headDim + d]!);
      }
      const relative = err / mag;
      if (!(relative <= TOLERANCE)) throw new Error(`${what}: row ${i} head ${h} relative error ${relative.toExponential(2)}`);
      worst = Math.max(worst, relative);
    }
  });
  return worst;
}

async function subgroupSettings(): Promise<boolean[]> {
  return (await gpu()).features.subgroups ? [false, true] : [false];
}

interface DecodeRun {
  readonly shape: Shape;
  readonly cache: Cache;
  readonly q: Float32Array;
  /** (slot, position) per decode row. */
  readonly rows: readonly (readonly [number, number])[];
  readonly firstRow: number;
  readonly subgroups: boolean;
  readonly maxPosition?: number;
}

async function runDecode(run: KernelRunner, job: DecodeRun): Promise<Float32Array> {
  const { shape, cache, firstRow } = job;
  const { heads, kvHeads, headDim } = shape;
  const totalRows = firstRow + job.rows.length;
  const ctx = run.context;
  const info = new Uint32Array(totalRows * 2);
  job.rows.forEach(([slot, position], i) => info.set([slot, position], (firstRow + i) * 2));
  const buffers = {
    q: await upload(job.q, 'q'),
    keys: await upload(cache.keys, 'keys'),
    values: await upload(cache.values, 'values'),
    rowInfo: await upload(info, 'row info'),
    out: await empty(totalRows * heads * headDim * 4, 'out'),
    partials: await empty(attentionDecodePartialsBytes(job.rows.length, heads, headDim, cache.maxContext), 'partials'),
  };
  try {
    recordAttentionDecode(run, { subgroups: job.subgroups }, {
      ...buffers,
      rows: job.rows.length,
      firstRow,
      heads,
      kvHeads,
      headDim,
      maxContext: cache.maxContext,
      ...(job.maxPosition === undefined ? {} : { maxPosition: job.maxPosition }),
    });
    return await readF32(run, buffers.out, totalRows * heads * headDim);
  } finally {
    for (const buffer of Object.values(buffers)) ctx.memory.destroy(buffer);
  }
}

interface PrefillRun {
  readonly shape: Shape;
  readonly cache: Cache;
  readonly q: Float32Array;
  readonly slot: number;
  readonly p0: number;
  readonly rows: number;
  readonly firstRow: number;
}

async function runPrefill(run: KernelRunner, job: PrefillRun): Promise<Float32Array> {
  const { shape, cache, firstRow, rows, p0, slot } = job;
  const { heads, kvHeads, headDim } = shape;
  const totalRows = firstRow + rows;
  const info = new Uint32Array(totalRows * 2);
  for (let i = 0; i < rows; i++) info.set([slot, p0 + i], (firstRow + i) * 2);
  const buffers = {
    q: await upload(job.q, 'q'),
    keys: await upload(cache.keys, 'keys'),
    values: await upload(cache.values, 'values'),
    rowInfo: await upload(info, 'row info'),
    out: await empty(totalRows * heads * headDim * 4, 'out'),
  };
  try {
    recordAttentionPrefill(run, { subgroups: false }, { ...buffers, rows, firstRow, p0, heads, kvHeads, headDim, maxContext: cache.maxContext });
    return await readF32(run, buffers.out, totalRows * heads * headDim);
  } finally {
    for (const buffer of Object.values(buffers)) run.context.memory.destroy(buffer);
  }
}

// Decode rows around the split boundary, each in its own slot.
const DECODE_ROWS: readonly (readonly [number, number])[] = [
  [3, 0],
  [0, 1],
  [5, 255],
  [1, 256],
  [4, 257],
  [2, 1000],
];

describe('attention decode (flash-decoding, split + reduce)', () => {
  for (const shape of SHAPES) {
    it(`matches float64 for heads ${shape.heads}/${shape.kvHeads}, headDim ${shape.headDim}`, async () => {
      const run = await runner();
      const cache = randomCache(shape, 6, 1024, 11 + shape.headDim);
      const firstRow = 2;
      const q = randoms((firstRow + DECODE_ROWS.length) * shape.heads * shape.headDim, 7 + shape.headDim, 1.5);
      const refs = DECODE_ROWS.map(([slot, position], i) => reference(shape, cache, q, firstRow + i, slot, position));
      for (const subgroups of await subgroupSettings()) {
        const got = await runDecode(run, { shape, cache, q, rows: DECODE_ROWS, firstRow, subgroups });
        const worst = check(shape, got, firstRow, refs, `decode subgroups ${subgroups}`);
        // Rows before firstRow are not written.
        expect(got.subarray(0, firstRow * shape.heads * shape.headDim).every((v) => v === 0)).toBe(true);
        console.log(`decode ${shape.heads}/${shape.kvHeads}×${shape.headDim} subgroups ${subgroups}: worst relative error ${worst.toExponential(2)}`);
      }
    });
  }

  it('ignores cache positions past each row (garbage there) and other slots', async () => {
    const shape = SHAPES[0];
    const run = await runner();
    const cache = randomCache(shape, 6, 1024, 5);
    const bySlot = new Map(DECODE_ROWS.map(([slot, position]) => [slot, position]));
    const dirty = withGarbage(shape, cache, (slot) => bySlot.get(slot) ?? -1);
    const q = randoms(DECODE_ROWS.length * shape.heads * shape.headDim, 6, 1.5);
    const refs = DECODE_ROWS.map(([slot, position], i) => reference(shape, cache, q, i, slot, position));
    for (const subgroups of await subgroupSettings()) {
      const clean = await runDecode(run, { shape, cache, q, rows: DECODE_ROWS, firstRow: 0, subgroups });
      const got = await runDecode(run, { shape, cache: dirty, q, rows: DECODE_ROWS, firstRow: 0, subgroups, maxPosition: 1000 });
      check(shape, got, 0, refs, `decode with garbage, subgroups ${subgroups}`);
      expect(Array.from(got)).toEqual(Array.from(clean));
    }
  });

  it('sizes the partials scratch by splits of the context', () => {
    expect(ATTENTION_DECODE_CHUNK).toBe(256);
    expect(attentionDecodePartialsBytes(3, 32, 128, 4096)).toBe(3 * 32 * 16 * 130 * 4);
    expect(attentionDecodePartialsBytes(1, 4, 64, 257)).toBe(4 * 2 * 66 * 4);
  });
});

describe('attention prefill (tiled, online softmax)', () => {
  for (const shape of SHAPES) {
    it(`matches float64 for heads ${shape.heads}/${shape.kvHeads}, headDim ${shape.headDim}, p0 0 and 100`, async () => {
      const run = await runner();
      const slot = 1;
      const base = randomCache(shape, 2, 160, 21 + shape.headDim);
      let worst = 0;
      for (const p0 of [0, 100]) {
        for (const rows of [1, 7, 16, 33]) {
          // The chunk's K/V are in the cache; everything after its last position (and the other slot) is garbage.
          const cache = withGarbage(shape, base, (s) => (s === slot ? p0 + rows - 1 : -1));
          const firstRow = rows === 7 ? 3 : 0;
          const q = randoms((firstRow + rows) * shape.heads * shape.headDim, 31 + rows + p0, 1.5);
          const refs = Array.from({ length: rows }, (_, i) => reference(shape, cache, q, firstRow + i, slot, p0 + i));
          const got = await runPrefill(run, { shape, cache, q, slot, p0, rows, firstRow });
          worst = Math.max(worst, check(shape, got, firstRow, refs, `prefill p0 ${p0} rows ${rows}`));
          expect(got.subarray(0, firstRow * shape.heads * shape.headDim).every((v) => v === 0)).toBe(true);
        }
      }
      console.log(`prefill ${shape.heads}/${shape.kvHeads}×${shape.headDim}: worst relative error ${worst.toExponential(2)}`);
    });
  }

  it('gives each row the same answer as decoding it alone', async () => {
    const shape = SHAPES[0];
    const run = await runner();
    const base = randomCache(shape, 1, 512, 3);
    const p0 = 250;
    const rows = 20;
    const cache = withGarbage(shape, base, () => p0 + rows - 1);
    const q = randoms(rows * shape.heads * shape.headDim, 4, 1.5);
    const prefill = await runPrefill(run, { shape, cache, q, slot: 0, p0, rows, firstRow: 0 });
    const decode = await runDecode(run, {
      shape,
      cache,
      q,
      rows: Array.from({ length: rows }, (_, i) => [0, p0 + i] as const),
      firstRow: 0,
      subgroups: false,
    });
    for (let i = 0; i < prefill.length; i++) expect(Math.abs(prefill[i]! - decode[i]!)).toBeLessThan(1e-5);
  });
});
