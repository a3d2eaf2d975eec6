import { describe, expect, it } from 'vitest';
import {
  E4M3_DECODE,
  E4M3_MAX,
  e4m3ArrayToF32,
  e4m3ToF32,
  f32ArrayToE4m3,
  f32ToE4m3,
} from '../../src/formats/e4m3.js';
import { bitsToF32, nearestIndex, randomU32 } from './helpers.js';

/** Non-negative finite E4M3 values by code 0x00..0x7e, from the OCP spec's definition. */
const POSITIVE = Array.from({ length: 0x7f }, (_, c) => {
  const exp = c >>> 3;
  const mant = c & 7;
  return exp === 0 ? (mant / 8) * 2 ** -6 : (1 + mant / 8) * 2 ** (exp - 7);
});

/** Brute-force reference encoder: nearest code by exact distance, ties to even, saturating at ±448. */
function referenceE4m3(x: number): number {
  if (Number.isNaN(x)) return 0x7f;
  const sign = x < 0 || Object.is(x, -0) ? 0x80 : 0;
  return sign | nearestIndex(POSITIVE, Math.abs(x));
}

describe('e4m3 decode', () => {
  it('has the exact value of all 256 codes', () => {
    expect(E4M3_DECODE).toHaveLength(256);
    for (let c = 0; c < 256; c++) {
      const magnitude = (c & 0x7f) === 0x7f ? NaN : POSITIVE[c & 0x7f]!;
      expect(Object.is(E4M3_DECODE[c], c & 0x80 ? -magnitude : magnitude), `code ${c}`).toBe(true);
      expect(Object.is(e4m3ToF32(c), E4M3_DECODE[c])).toBe(true);
    }
  });

  it('has the landmark values of the spec', () => {
    expect(E4M3_MAX).toBe(448);
    expect(e4m3ToF32(0x7e)).toBe(448);
    expect(e4m3ToF32(0xfe)).toBe(-448);
    expect(e4m3ToF32(0x38)).toBe(1);
    expect(e4m3ToF32(0x01)).toBe(2 ** -9); // smallest subnormal
    expect(e4m3ToF32(0x07)).toBe(7 * 2 ** -9); // largest subnormal
    expect(e4m3ToF32(0x08)).toBe(2 ** -6); // smallest normal
    expect(e4m3ToF32(0x77)).toBe(240); // exponent 14, mantissa 7: finite (no infinities in E4M3FN)
    expect(e4m3ToF32(0x78)).toBe(256);
    expect(e4m3ToF32(0x7f)).toBeNaN();
    expect(e4m3ToF32(0xff)).toBeNaN();
    expect(Object.is(e4m3ToF32(0x80), -0)).toBe(true);
    expect(Object.is(e4m3ToF32(0x00), 0)).toBe(true);
  });

  it('is strictly increasing over the positive codes', () => {
    for (let c = 0; c < 0x7e; c++) expect(E4M3_DECODE[c + 1]!).toBeGreaterThan(E4M3_DECODE[c]!);
  });
});

describe('e4m3 encode', () => {
  it('round-trips every finite code, signed zeros included', () => {
    for (let c = 0; c < 256; c++) {
      if ((c & 0x7f) === 0x7f) continue;
      expect(f32ToE4m3(e4m3ToF32(c)), `code ${c}`).toBe(c);
    }
  });

  it('rounds the midpoint of every adjacent pair of codes to the even code', () => {
    // Covers the subnormal range, the subnormal/normal boundary (0x07/0x08) and every binade.
    for (let c = 0; c < 0x7e; c++) {
      const mid = (POSITIVE[c]! + POSITIVE[c + 1]!) / 2; // exact in float32 (5 significant bits)
      const even = c % 2 === 0 ? c : c + 1;
      expect(f32ToE4m3(mid), `midpoint above code ${c}`).toBe(even);
      expect(f32ToE4m3(-mid)).toBe(even | 0x80);
      expect(f32ToE4m3(Math.fround(mid * (1 - 2 ** -20)))).toBe(c);
      expect(f32ToE4m3(Math.fround(mid * (1 + 2 ** -20)))).toBe(c + 1);
    }
  });

  it('handles the boundaries explicitly', () => {
    expect(f32ToE4m3(2 ** -10)).toBe(0x00); // halfway 0 ↔ 2^-9: even is 0
    expect(f32ToE4m3(Math.fround(2 ** -10 * 1.001))).toBe(0x01);
    expect(f32ToE4m3(3 * 2 ** -10)).toBe(0x02); // halfway 0x01 ↔ 0x02
    expect(f32ToE4m3(15 * 2 ** -10)).toBe(0x08); // halfway 7·2^-9 ↔ 2^-6 (subnormal/normal): 0x08 is even
    expect(f32ToE4m3(Math.fround(15 * 2 ** -10 * (1 - 2 ** -20)))).toBe(0x07);
    expect(f32ToE4m3(432)).toBe(0x7e); // halfway 416 (0x7d) ↔ 448 (0x7e): 0x7e is even
    expect(f32ToE4m3(Math.fround(432 * (1 - 2 ** -20)))).toBe(0x7d);
  });

  it('saturates at ±448 instead of producing NaN or Inf', () => {
    expect(f32ToE4m3(448)).toBe(0x7e);
    expect(f32ToE4m3(449)).toBe(0x7e);
    expect(f32ToE4m3(464)).toBe(0x7e); // the midpoint towards a non-existent 480
    expect(f32ToE4m3(465)).toBe(0x7e);
    expect(f32ToE4m3(480)).toBe(0x7e);
    expect(f32ToE4m3(1e30)).toBe(0x7e);
    expect(f32ToE4m3(Infinity)).toBe(0x7e);
    expect(f32ToE4m3(-464)).toBe(0xfe);
    expect(f32ToE4m3(-Infinity)).toBe(0xfe);
    expect(f32ToE4m3(Number.MAX_VALUE)).toBe(0x7e); // overflows float32 to Inf first
  });

  it('maps NaN to the NaN code and keeps the sign of zero and of underflow', () => {
    expect(f32ToE4m3(NaN)).toBe(0x7f);
    expect(f32ToE4m3(0)).toBe(0x00);
    expect(f32ToE4m3(-0)).toBe(0x80);
    expect(f32ToE4m3(1e-30)).toBe(0x00);
    expect(f32ToE4m3(-1e-30)).toBe(0x80);
    expect(f32ToE4m3(bitsToF32(0x00000001))).toBe(0x00); // a float32 subnormal
    // The bulk path sees raw bits, so a negative NaN keeps its sign.
    const nans = new Float32Array(new Uint32Array([0x7fc00000, 0xffc00000, 0x7f800001]).buffer);
    expect([...f32ArrayToE4m3(nans)]).toEqual([0x7f, 0xff, 0x7f]);
  });

  it('matches the brute-force reference on random float32 values', () => {
    const next = randomU32(3);
    const failures: number[] = [];
    for (let i = 0; i < 200_000; i++) {
      // Mostly exponents from 2^-12 to 2^10, where every E4M3 case lives; sometimes any bit pattern.
      let bits = next();
      if (i % 8 !== 0) bits = ((bits & 0x807fffff) | ((115 + (next() % 22)) << 23)) >>> 0;
      const x = bitsToF32(bits);
      if (Number.isNaN(x)) continue;
      if (f32ToE4m3(x) !== referenceE4m3(x)) failures.push(bits);
    }
    expect(failures).toEqual([]);
  });

  it('rounds the input to float32 before rounding to E4M3', () => {
    // 1.0625 + 2^-40 is above the midpoint 1.0625 (between 1 and 1.125) as a double, but it is exactly the
    // midpoint as a float32, which then rounds to the even code (1.0).
    expect(f32ToE4m3(1.0625 + 2 ** -40)).toBe(0x38);
  });
});

describe('e4m3 arrays', () => {
  it('encode and decode whole arrays, honouring offsets and destinations', () => {
    const values = Float32Array.from([0, 1, -1.1, 500, 3e-3, -0, 0.3333]);
    const codes = f32ArrayToE4m3(values);
    expect([...codes]).toEqual([...values].map((v) => f32ToE4m3(v)));
    expect([...e4m3ArrayToF32(codes)]).toEqual([...codes].map((c) => e4m3ToF32(c)));

    const backing = new Float32Array(10);
    backing.set([2, 3, 4], 5);
    const out = new Uint8Array(6);
    const view = out.subarray(1);
    expect(f32ArrayToE4m3(backing.subarray(5, 8), view)).toBe(view);
    expect([...out]).toEqual([0, 0x40, 0x44, 0x48, 0, 0]);

    const dst = new Float32Array(4);
    expect(e4m3ArrayToF32(Uint8Array.of(0x38, 0xb8), dst)).toBe(dst);
    expect([...dst]).toEqual([1, -1, 0, 0]);
  });

  it('round-trips all 256 codes in bulk', () => {
    const all = Uint8Array.from({ length: 256 }, (_, c) => c);
    const back = f32ArrayToE4m3(e4m3ArrayToF32(all));
    // NaN codes too: the bulk path carries the NaN's sign through float32 bits.
    expect([...back]).toEqual([...all]);
  });

  it('rejects a destination that is too short', () => {
    expect(() => f32ArrayToE4m3(new Float32Array(3), new Uint8Array(2))).toThrow(RangeError);
    expect(() => e4m3ArrayToF32(new Uint8Array(3), new Float32Array(2))).toThrow(RangeError);
  });
});
