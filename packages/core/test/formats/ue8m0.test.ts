import { describe, expect, it } from 'vitest';
import { UE8M0_NAN, f32ToUe8m0, ue8m0ToF32 } from '../../src/formats/ue8m0.js';

describe('ue8m0', () => {
  it('decodes 2^(code - 127) and NaN for 0xff', () => {
    expect(ue8m0ToF32(127)).toBe(1);
    expect(ue8m0ToF32(0)).toBe(2 ** -127);
    expect(ue8m0ToF32(254)).toBe(2 ** 127);
    expect(ue8m0ToF32(120)).toBe(1 / 128);
    expect(ue8m0ToF32(UE8M0_NAN)).toBeNaN();
    // Every decoded scale is representable in float32 (code 0 is a float32 subnormal).
    for (let c = 0; c < 255; c++) expect(Math.fround(ue8m0ToF32(c))).toBe(ue8m0ToF32(c));
  });

  it('encodes powers of two exactly and rounds everything else up', () => {
    for (let c = 1; c < 255; c++) {
      const p = 2 ** (c - 127);
      expect(f32ToUe8m0(p)).toBe(c);
      expect(f32ToUe8m0(p * (1 + 2 ** -40))).toBe(Math.min(c + 1, 254));
      expect(f32ToUe8m0(p * (1 - 2 ** -40))).toBe(c);
      expect(f32ToUe8m0(p * 0.75)).toBe(c);
    }
    expect(f32ToUe8m0(1.5)).toBe(128);
    expect(f32ToUe8m0(0.26)).toBe(126);
    expect(f32ToUe8m0(300 / 448)).toBe(127);
  });

  it('never shrinks a scale inside the range', () => {
    for (const x of [1e-30, 3.3e-7, 0.1, 0.7, 1, 3, 1e5, 1.7e38]) {
      expect(ue8m0ToF32(f32ToUe8m0(x))).toBeGreaterThanOrEqual(x);
      expect(ue8m0ToF32(f32ToUe8m0(x))).toBeLessThan(2 * x);
    }
  });

  it('clamps at the range ends and maps NaN to 0xff', () => {
    expect(f32ToUe8m0(0)).toBe(0);
    expect(f32ToUe8m0(-1)).toBe(0);
    expect(f32ToUe8m0(2 ** -200)).toBe(0);
    expect(f32ToUe8m0(2 ** -127)).toBe(0);
    expect(f32ToUe8m0(2 ** -127 * 1.5)).toBe(1);
    expect(f32ToUe8m0(2 ** 127 * 1.5)).toBe(254);
    expect(f32ToUe8m0(Infinity)).toBe(254);
    expect(f32ToUe8m0(NaN)).toBe(0xff);
  });
});
