/**
 * Top-k over logits rows (greedy decoding is k = 1), against a reference computed here. The kernel compares values
 * exactly (an order-preserving u32 key of the f32 bits) and returns the input bits, so results must match
 * exactly: the k largest (value, index) pairs by value descending, then index ascending, −0 = +0, NaN below −∞.
 */
import { describe, expect, it } from 'vitest';
import { recordTopK, topKScratch } from '../src/kernels/top-k.js';
import { empty, readF32, readU32, runner, upload } from './gpu-harness.js';
import { random } from './seeded-random.js';

const VOCAB = 151_936;

/** Ranks (value, index) pairs: NaN lowest, −0 = +0, ties by lower index. */
function ranks(a: number, ai: number, b: number, bi: number): number {
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an !== bn) return an ? 1 : -1;
  if (!an && a !== b) return b - a > 0 ? 1 : -1;
  return ai - bi;
}

function referenceTopK(row: Float32Array, k: number): number[] {
  const order = Array.from({ length: row.length }, (_, i) => i);
  order.sort((i, j) => ranks(row[i]!, i, row[j]!, j));
  return order.slice(0, k);
}

/** Rows of logits with planted ties, NaNs, infinities and signed zeros. */
function logits(rows: number, vocab: number, seed: number): Float32Array {
  const next = random(seed);
  const data = Float32Array.from({ length: rows * vocab }, () => (next() - 0.5) * 30);
  const row = (r: number): Float32Array => data.subarray(r * vocab, (r + 1) * vocab);
  for (let r = 0; r < rows; r++) {
    const x = row(r);
    const at = (fraction: number): number => Math.min(vocab - 1, Math.floor(fraction * vocab));
    switch (r % 4) {
      case 0: // a tie for the maximum, the later copy in an earlier block... and a NaN before it
        x[at(0.9)] = 40;
        x[at(0.3)] = 40;
        x[at(0.1)] = Number.NaN;
        break;
      case 1: // many equal values at the top (a top-k that must order by index), NaN at index 0
        for (let i = 0; i < 90; i++) x[at((i * 7919) % 1000 / 1000)] = 20;
        x[0] = Number.NaN;
        x[at(0.5)] = Number.POSITIVE_INFINITY;
        break;
      case 2: // all negative with signed zeros as the maximum: −0 at a lower index ties +0
        for (let i = 0; i < vocab; i++) x[i] = -Math.abs(x[i]!) - 1;
        x[at(0.7)] = 0;
        x[at(0.2)] = -0;
        x[at(0.4)] = Number.NaN;
        x[at(0.6)] = Number.NEGATIVE_INFINITY;
        break;
      default: // random
        break;
    }
  }
  return data;
}

describe.each([false, true])('top-k (subgroups %s)', (subgroups) => {
  for (const [rows, vocab, k] of [[3, VOCAB, 64], [2, VOCAB, 1], [4, 7, 7], [3, 300, 64], [4, 4097, 13], [2, 9000, 50], [1, 300_000, 64]] as const) {
    // 300,000 × k = 64 takes three levels (74 blocks, then 2, then 1): both scratch pairs ping-pong.
    it(`selects the top ${k} of ${rows} rows of ${vocab}`, async () => {
      const run = await runner();
      const data = logits(rows, vocab, 3 * vocab + k);
      const scratchNeed = topKScratch(rows, vocab, k);
      const scratch = await Promise.all(Array.from({ length: scratchNeed.buffers }, () => empty(scratchNeed.bytes)));
      const values = await empty(rows * k * 4);
      const indices = await empty(rows * k * 4);
      recordTopK(run, { subgroups }, { logits: await upload(data), values, indices, scratch, rows, vocab, k });
      const gotValues = new Uint32Array((await readF32(run, values, rows * k)).buffer);
      const gotIndices = await readU32(run, indices, rows * k);
      const bits = new Uint32Array(data.buffer);
      for (let r = 0; r < rows; r++) {
        const want = referenceTopK(data.subarray(r * vocab, (r + 1) * vocab), k);
        expect(Array.from(gotIndices.subarray(r * k, (r + 1) * k)), `row ${r} indices`).toEqual(want);
        expect(Array.from(gotValues.subarray(r * k, (r + 1) * k)), `row ${r} value bits`).toEqual(want.map((i) => bits[r * vocab + i]!));
      }
    });
  }

  it('k = 1 takes the first of −∞ ties over NaN, and index 0 of an all-NaN row', async () => {
    const run = await runner();
    const vocab = 5000;
    const data = new Float32Array(2 * vocab).fill(Number.NaN);
    data[4500] = Number.NEGATIVE_INFINITY;
    data[4999] = Number.NEGATIVE_INFINITY;
    const scratchNeed = topKScratch(2, vocab, 1);
    const scratch = await Promise.all(Array.from({ length: scratchNeed.buffers }, () => empty(scratchNeed.bytes)));
    const values = await empty(8);
    const indices = await empty(8);
    recordTopK(run, { subgroups }, { logits: await upload(data), values, indices, scratch, rows: 2, vocab, k: 1 });
    expect(Array.from(await readU32(run, indices, 2))).toEqual([4500, 0]);
  });
});
