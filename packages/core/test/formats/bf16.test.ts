import { describe, expect, it } from 'vitest';
import { bf16ArrayToF32, bf16ToF32, f32ArrayToBf16, f32ToBf16 } from '../../src/formats/bf16.js';
import { bitsToF32, randomU32 } from './helpers.js';

/** Reference: the nearer of the two bf16 neighbours by exact value, ties to the even code. */
function referenceBf16(bits: number): number {
  const lo = bits >>> 16;
  const hi = (lo + 1) & 0xffff;
  const x = bitsToF32(bits);
  const dLo = Math.abs(x - bf16ToF32(lo));
  const dHi = Math.abs(bf16ToF32(hi) - x);
  if (dLo < dHi) return lo;
  if (dHi < dLo) return hi;
  return lo & 1 ? hi : lo;
}

describe('bf16', () => {
  it('decodes as the top half of a float32', () => {
    expect(bf16ToF32(0x3f80)).toBe(1);
    expect(bf16ToF32(0xc000)).toBe(-2);
    expect(Object.is(bf16ToF32(0x8000), -0)).toBe(true);
    expect(bf16ToF32(0x7f80)).toBe(Infinity);
    expect(bf16ToF32(0xff80)).toBe(-Infinity);
    expect(bf16ToF32(0x7fc0)).toBeNaN();
    expect(bf16ToF32(0x0001)).toBe(2 ** -133);
  });

  it('round-trips every non-NaN code', () => {
    const failures: number[] = [];
    for (let c = 0; c < 0x10000; c++) {
      if ((c & 0x7fff) > 0x7f80) continue;
      if (f32ToBf16(bf16ToF32(c)) !== c) failures.push(c);
    }
    expect(failures).toEqual([]);
  });

  it('rounds to nearest even, matching a reference on random and tie bit patterns', () => {
    const next = randomU32(1);
    const failures: number[] = [];
    for (let i = 0; i < 200_000; i++) {
      let bits = next();
      if (i % 4 === 0) bits = ((bits & 0xffff0000) | 0x8000) >>> 0; // an exact tie
      if (((bits & 0x7fffffff) >>> 0) >= 0x7f800000) continue;
      const expected = ((bits & 0x7fffffff) >>> 0) >= 0x7f7f8000 ? referenceOverflow(bits) : referenceBf16(bits);
      if (f32ToBf16(bitsToF32(bits)) !== expected) failures.push(bits);
    }
    expect(failures).toEqual([]);
    expect(f32ToBf16(bitsToF32(0x3f808000))).toBe(0x3f80); // tie, even stays
    expect(f32ToBf16(bitsToF32(0x3f818000))).toBe(0x3f82); // tie, odd rounds up
    expect(f32ToBf16(bitsToF32(0x3f808001))).toBe(0x3f81);
  });

  it('keeps infinities, rounds the largest floats up to Inf, and keeps NaN quiet with its sign', () => {
    expect(f32ToBf16(Infinity)).toBe(0x7f80);
    expect(f32ToBf16(-Infinity)).toBe(0xff80);
    expect(f32ToBf16(bitsToF32(0x7f7fffff))).toBe(0x7f80);
    expect(f32ToBf16(NaN) & 0x7fc0).toBe(0x7fc0);
    // A signalling NaN whose payload is only in the low bits must not truncate to Inf.
    const out = f32ArrayToBf16(new Float32Array(new Uint32Array([0x7f800001, 0xff800001, 0xffc00000]).buffer));
    expect([...out]).toEqual([0x7fc0, 0xffc0, 0xffc0]);
    expect(f32ToBf16(-0)).toBe(0x8000);
  });

  it('converts arrays, into a given destination and from offset views', () => {
    const values = Float32Array.from([1, -2.5, 3.14159, 1e-40, 65504, -0]);
    const bits = f32ArrayToBf16(values);
    expect([...bits]).toEqual([...values].map((v) => f32ToBf16(v)));
    const back = bf16ArrayToF32(bits);
    expect([...back]).toEqual([...bits].map((b) => bf16ToF32(b)));

    const dst = new Float32Array(10);
    expect(bf16ArrayToF32(bits, dst)).toBe(dst);
    expect(dst[1]).toBe(-2.5);

    const big = new Float32Array(8);
    big.set([7, 8, 9], 4);
    expect([...f32ArrayToBf16(big.subarray(4, 7))].map(bf16ToF32)).toEqual([7, 8, 9]);
    const dst32 = new Float32Array(8);
    bf16ArrayToF32(Uint16Array.of(0x3f80, 0x4000), dst32.subarray(3));
    expect([...dst32.subarray(3, 5)]).toEqual([1, 2]);
  });

  it('rejects a destination that is too short', () => {
    expect(() => bf16ArrayToF32(new Uint16Array(4), new Float32Array(3))).toThrow(RangeError);
    expect(() => f32ArrayToBf16(new Float32Array(4), new Uint16Array(3))).toThrow(RangeError);
  });
});

function referenceOverflow(bits: number): number {
  // Above the largest bf16 (0x7f7f) plus half an ulp, RNE goes to Inf (0x7f7f is odd, so the tie does too).
  return ((bits >>> 31) << 15) | 0x7f80;
}
