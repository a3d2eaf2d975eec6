import { describe, expect, it } from 'vitest';
import { f32ArrayToFp16, f32ToFp16, fp16ArrayToF32, fp16ToF32 } from '../../src/formats/fp16.js';
import { bitsToF32, nearestIndex, randomU32 } from './helpers.js';

/** Every non-negative finite half, by code; computed from the definition, not from the code under test. */
const HALVES = Array.from({ length: 0x7c00 }, (_, c) => {
  const exp = c >>> 10;
  const mant = c & 0x3ff;
  return exp === 0 ? mant * 2 ** -24 : (1 + mant / 1024) * 2 ** (exp - 15);
});

function referenceFp16(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 65520) return sign | 0x7c00; // at or past the midpoint of 65504 (odd) and 2^16
  return sign | nearestIndex(HALVES, a);
}

describe('fp16', () => {
  it('decodes every code per IEEE binary16', () => {
    const failures: number[] = [];
    for (let c = 0; c < 0x10000; c++) {
      const v = fp16ToF32(c);
      const a = c & 0x7fff;
      const expected = a > 0x7c00 ? NaN : a === 0x7c00 ? Infinity : HALVES[a]!;
      const signed = c & 0x8000 ? -expected : expected;
      if (!Object.is(v, signed)) failures.push(c);
    }
    expect(failures).toEqual([]);
    expect(fp16ToF32(0x3c00)).toBe(1);
    expect(fp16ToF32(0x7bff)).toBe(65504);
    expect(fp16ToF32(0x0001)).toBe(2 ** -24);
    expect(fp16ToF32(0x0400)).toBe(2 ** -14);
  });

  it('round-trips every non-NaN code', () => {
    const failures: number[] = [];
    for (let c = 0; c < 0x10000; c++) {
      if ((c & 0x7fff) > 0x7c00) continue;
      if (f32ToFp16(fp16ToF32(c)) !== c) failures.push(c);
    }
    expect(failures).toEqual([]);
  });

  it('rounds every midpoint between adjacent codes to the even one, subnormals included', () => {
    const failures: number[] = [];
    for (let c = 0; c < 0x7bff; c++) {
      const mid = (HALVES[c]! + HALVES[c + 1]!) / 2; // exact in float32
      const even = c % 2 === 0 ? c : c + 1;
      if (f32ToFp16(mid) !== even || f32ToFp16(-mid) !== (even | 0x8000)) failures.push(c);
      // Just either side of the midpoint goes to the nearer code.
      if (f32ToFp16(Math.fround(mid * (1 - 2 ** -23))) !== c) failures.push(c);
      if (f32ToFp16(Math.fround(mid * (1 + 2 ** -23))) !== c + 1) failures.push(c);
    }
    expect(failures).toEqual([]);
  });

  it('matches a brute-force reference on random float32 bit patterns', () => {
    const next = randomU32(2);
    const failures: number[] = [];
    for (let i = 0; i < 100_000; i++) {
      // Confine most exponents to around half's range so subnormals and overflow are well covered.
      let bits = next();
      if (i % 2 === 0) bits = ((bits & 0x807fffff) | ((96 + (next() % 48)) << 23)) >>> 0;
      const x = bitsToF32(bits);
      if (Number.isNaN(x)) continue;
      if (f32ToFp16(x) !== referenceFp16(x)) failures.push(bits);
    }
    expect(failures).toEqual([]);
  });

  it('overflows to Inf, underflows to signed zero, keeps NaN', () => {
    expect(f32ToFp16(65504)).toBe(0x7bff);
    expect(f32ToFp16(65519.99)).toBe(0x7bff);
    expect(f32ToFp16(65520)).toBe(0x7c00);
    expect(f32ToFp16(-1e9)).toBe(0xfc00);
    expect(f32ToFp16(Infinity)).toBe(0x7c00);
    expect(f32ToFp16(2 ** -25)).toBe(0); // the tie between 0 and the smallest subnormal
    expect(f32ToFp16(Math.fround(2 ** -25 * 1.0001))).toBe(1);
    expect(f32ToFp16(-1e-30)).toBe(0x8000);
    expect(f32ToFp16(NaN) & 0x7e00).toBe(0x7e00);
    expect(fp16ToF32(f32ToFp16(NaN))).toBeNaN();
  });

  it('converts arrays, into a given destination and from offset views', () => {
    const values = Float32Array.from([1, -2.5, 0.1, 1e-6, 70000, -0]);
    const bits = f32ArrayToFp16(values);
    expect([...bits]).toEqual([...values].map((v) => f32ToFp16(v)));
    const view = new Float32Array(8).subarray(2);
    expect(fp16ArrayToF32(bits, view)).toBe(view);
    expect([...view]).toEqual([...bits].map((b) => fp16ToF32(b)));
    const big = new Float32Array(6);
    big.set([0.5, 3], 3);
    expect([...f32ArrayToFp16(big.subarray(3, 5))]).toEqual([0x3800, 0x4200]);
    expect(() => f32ArrayToFp16(new Float32Array(2), new Uint16Array(1))).toThrow(RangeError);
    expect(() => fp16ArrayToF32(new Uint16Array(2), new Float32Array(1))).toThrow(RangeError);
  });
});
