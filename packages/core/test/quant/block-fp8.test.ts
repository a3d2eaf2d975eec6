import { describe, expect, it } from 'vitest';
import { E4M3_DECODE } from '../../src/formats/e4m3.js';
import { FP8_BLOCK, ZERO_BLOCK_SCALE, dequantizeBlockFp8, quantizeBlockFp8 } from '../../src/quant/block-fp8.js';

/** Deterministic test weights: roughly normal, with a per-block magnitude so blocks get different scales. */
function makeWeights(rows: number, cols: number, seed = 1): Float32Array {
  let s = seed;
  const uniform = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  const w = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const magnitude = 10 ** (((r >> 5) + (c >> 5)) % 7 - 4); // 1e-4 .. 1e2
      const gauss = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
      w[r * cols + c] = gauss * magnitude;
    }
  }
  return w;
}

function blockOf(r: number, c: number, cols: number, block: number): number {
  return Math.floor(r / block) * Math.ceil(cols / block) + Math.floor(c / block);
}

describe('quantizeBlockFp8', () => {
  it('produces the Hugging Face shapes, partial edge blocks included', () => {
    const q = quantizeBlockFp8(makeWeights(300, 200), 300, 200);
    expect(FP8_BLOCK).toBe(128);
    expect(q.codes).toHaveLength(300 * 200);
    expect(q.scaleRows).toBe(3);
    expect(q.scaleCols).toBe(2);
    expect(q.scaleInv).toHaveLength(6);
    const exact = quantizeBlockFp8(new Float32Array(256 * 128), 256, 128);
    expect([exact.scaleRows, exact.scaleCols]).toEqual([2, 1]);
  });

  it('sets each scale to amax/448 of its own block (as float32), edge blocks included', () => {
    const rows = 130;
    const cols = 260;
    const w = makeWeights(rows, cols, 7);
    const q = quantizeBlockFp8(w, rows, cols);
    const amax = new Float64Array(q.scaleInv.length);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const b = blockOf(r, c, cols, 128);
        amax[b] = Math.max(amax[b]!, Math.abs(w[r * cols + c]!));
      }
    }
    for (let b = 0; b < amax.length; b++) expect(q.scaleInv[b]).toBe(Math.fround(amax[b]! / 448));
  });

  it('maps each block amax element to ±448 and reproduces it to float32 precision', () => {
    const rows = 200;
    const cols = 150;
    const w = makeWeights(rows, cols, 3);
    const q = quantizeBlockFp8(w, rows, cols);
    const deq = dequantizeBlockFp8(q.codes, q.scaleInv, rows, cols);
    for (let b = 0; b < q.scaleInv.length; b++) {
      let at = -1;
      for (let i = 0; i < w.length; i++) {
        const r = Math.floor(i / cols);
        if (blockOf(r, i % cols, cols, 128) !== b) continue;
        if (at < 0 || Math.abs(w[i]!) > Math.abs(w[at]!)) at = i;
      }
      expect(q.codes[at]! & 0x7f).toBe(0x7e);
      expect(q.codes[at]! >> 7).toBe(w[at]! < 0 ? 1 : 0);
      expect(Math.abs(deq[at]! - w[at]!)).toBeLessThanOrEqual(Math.abs(w[at]!) * 2 ** -23);
    }
  });

  it('reproduces the amax exactly when amax/448 is exact in float32', () => {
    const w = Float32Array.of(448 / 8, -3, 0.5, -448 / 8); // scale 1/8 exactly
    const q = quantizeBlockFp8(w, 2, 2);
    expect(q.scaleInv[0]).toBe(0.125);
    expect([...dequantizeBlockFp8(q.codes, q.scaleInv, 2, 2)]).toEqual([56, -3, 0.5, -56]);
    expect(q.codes[0]).toBe(0x7e);
    expect(q.codes[3]).toBe(0xfe);
  });

  it('keeps every element within the E4M3 rounding bound', () => {
    // Half an ulp for normals is 2^-4 of the value; subnormals (|w/scale| < 2^-6) have a fixed step of
    // 2^-9, so their error is at most scale·2^-10. A little float32 slack covers the division and product.
    for (const [rows, cols] of [
      [256, 384],
      [129, 257],
      [1, 1000],
      [1000, 1],
    ] as const) {
      const w = makeWeights(rows, cols, rows + cols);
      const q = quantizeBlockFp8(w, rows, cols);
      const deq = dequantizeBlockFp8(q.codes, q.scaleInv, rows, cols);
      let worst = 0;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const i = r * cols + c;
          const scale = q.scaleInv[blockOf(r, c, cols, 128)]!;
          const bound = 2 ** -4 * Math.abs(w[i]!) + scale * 2 ** -10 + 2 ** -22 * Math.abs(w[i]!);
          worst = Math.max(worst, Math.abs(w[i]! - deq[i]!) / bound);
        }
      }
      expect(worst).toBeLessThanOrEqual(1);
    }
  });

  it('gives all-zero blocks the documented exact scale', () => {
    const rows = 4;
    const cols = 6;
    const w = new Float32Array(rows * cols);
    w[5] = -0; // block (0, 1) holds only zeros, one of them negative
    w[2 * cols + 4] = 5;
    const q = quantizeBlockFp8(w, rows, cols, 2);
    expect(q.scaleRows).toBe(2);
    expect(q.scaleCols).toBe(3);
    expect([...q.scaleInv]).toEqual([1, 1, 1, 1, 1, 5 / 448].map(Math.fround));
    expect(ZERO_BLOCK_SCALE).toBe(1);
    const deq = dequantizeBlockFp8(q.codes, q.scaleInv, rows, cols, 2);
    expect(q.codes[5]).toBe(0x80);
    expect(Object.is(deq[5], -0)).toBe(true);
    expect(deq[2 * cols + 4]).toBeCloseTo(5, 5);
    expect([...deq].filter((v, i) => i !== 2 * cols + 4).every((v) => v === 0)).toBe(true);
    expect(deq.some((v) => Number.isNaN(v))).toBe(false);
  });

  it('does not divide by zero when amax/448 underflows float32', () => {
    const w = Float32Array.of(1e-44, -1e-45);
    const q = quantizeBlockFp8(w, 1, 2);
    expect(q.scaleInv[0]).toBe(ZERO_BLOCK_SCALE);
    expect([...dequantizeBlockFp8(q.codes, q.scaleInv, 1, 2)].every((v) => v === 0)).toBe(true);
  });

  it('works with a small block size on a hand-checked example', () => {
    // Block size 2 on [2, 3]: blocks {0,1,3,4} amax 4 and {2,5} amax 0.5 (a partial edge block).
    const w = Float32Array.of(1, -4, 0.5, 2, 3, -0.25);
    const q = quantizeBlockFp8(w, 2, 3, 2);
    expect([...q.scaleInv]).toEqual([Math.fround(4 / 448), Math.fround(0.5 / 448)]);
    const values = [...q.codes].map((c) => E4M3_DECODE[c]!);
    expect(values[1]).toBe(-448);
    expect(values[2]).toBe(448);
    expect(values[5]).toBe(-224);
    const deq = dequantizeBlockFp8(q.codes, q.scaleInv, 2, 3, 2);
    for (let i = 0; i < w.length; i++) expect(Math.abs(deq[i]! - w[i]!)).toBeLessThanOrEqual(Math.abs(w[i]!) / 16);
  });

  it('skips NaN for amax and encodes it as NaN', () => {
    const q = quantizeBlockFp8(Float32Array.of(NaN, 2), 1, 2);
    expect(q.scaleInv[0]).toBe(Math.fround(2 / 448));
    expect(q.codes[0]! & 0x7f).toBe(0x7f);
    expect(q.codes[1]).toBe(0x7e);
  });

  it('validates shapes', () => {
    expect(() => quantizeBlockFp8(new Float32Array(5), 2, 3)).toThrow(RangeError);
    expect(() => quantizeBlockFp8(new Float32Array(6), 2, 3, 0)).toThrow(RangeError);
    expect(() => quantizeBlockFp8(new Float32Array(6), 2.5, 3)).toThrow(RangeError);
    expect(() => dequantizeBlockFp8(new Uint8Array(6), new Float32Array(2), 2, 3)).toThrow(RangeError);
    expect(() => dequantizeBlockFp8(new Uint8Array(5), new Float32Array(1), 2, 3)).toThrow(RangeError);
    const empty = quantizeBlockFp8(new Float32Array(0), 0, 0);
    expect([empty.codes.length, empty.scaleInv.length]).toEqual([0, 0]);
  });
});
