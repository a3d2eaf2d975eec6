import { describe, expect, it } from 'vitest';
import { E4M3_DECODE } from '../../src/formats/e4m3.js';
import {
  ACTIVATION_AMAX_EPS,
  dequantizeActivationsFp8,
  quantizeActivationsFp8,
} from '../../src/quant/activation-fp8.js';

function makeActivations(tokens: number, dim: number): Float32Array {
  const x = new Float32Array(tokens * dim);
  for (let t = 0; t < tokens; t++) {
    for (let d = 0; d < dim; d++) {
      // Smooth values plus a few outliers, with a different scale per token.
      const outlier = d % 97 === 5 ? 40 : 1;
      x[t * dim + d] = Math.sin(d * 0.37 + t) * (t + 1) * 0.3 * outlier;
    }
  }
  return x;
}

describe('quantizeActivationsFp8', () => {
  it('has one scale per token per group of 128, partial last group included', () => {
    const q = quantizeActivationsFp8(makeActivations(3, 300), 3, 300);
    expect(q.codes).toHaveLength(900);
    expect(q.scales).toHaveLength(3 * 3);
  });

  it('uses scale = max(amax, 1e-10) / 448 per group, like vLLM', () => {
    const tokens = 2;
    const dim = 200;
    const x = makeActivations(tokens, dim);
    x.fill(0, dim + 128, 2 * dim); // token 1's partial group is all zero
    const q = quantizeActivationsFp8(x, tokens, dim);
    expect(ACTIVATION_AMAX_EPS).toBe(1e-10);
    for (let t = 0; t < tokens; t++) {
      for (let g = 0; g < 2; g++) {
        let amax = 0;
        for (let d = g * 128; d < Math.min(dim, (g + 1) * 128); d++) amax = Math.max(amax, Math.abs(x[t * dim + d]!));
        expect(q.scales[t * 2 + g]).toBe(Math.fround(Math.max(amax, 1e-10) / 448));
      }
    }
    expect(q.scales[3]).toBe(Math.fround(1e-10 / 448));
    expect([...q.codes.subarray(dim + 128)].every((c) => c === 0)).toBe(true);
  });

  it('quantises each group independently of the others', () => {
    const x = makeActivations(1, 256);
    const whole = quantizeActivationsFp8(x, 1, 256);
    const second = quantizeActivationsFp8(x.slice(128), 1, 128);
    expect(whole.codes.subarray(128)).toEqual(second.codes);
    expect(whole.scales[1]).toBe(second.scales[0]);
  });

  it('keeps the dequantisation error within the E4M3 bound, amax on ±448', () => {
    for (const [tokens, dim, group] of [
      [4, 512, 128],
      [3, 333, 128],
      [5, 100, 32],
    ] as const) {
      const x = makeActivations(tokens, dim);
      const q = quantizeActivationsFp8(x, tokens, dim, group);
      const deq = dequantizeActivationsFp8(q.codes, q.scales, tokens, dim, group);
      const groups = Math.ceil(dim / group);
      for (let t = 0; t < tokens; t++) {
        for (let g = 0; g < groups; g++) {
          const scale = q.scales[t * groups + g]!;
          let maxCode = 0;
          for (let d = g * group; d < Math.min(dim, (g + 1) * group); d++) {
            const i = t * dim + d;
            const bound = 2 ** -4 * Math.abs(x[i]!) + scale * 2 ** -10 + 2 ** -22 * Math.abs(x[i]!);
            expect(Math.abs(deq[i]! - x[i]!)).toBeLessThanOrEqual(bound);
            maxCode = Math.max(maxCode, Math.abs(E4M3_DECODE[q.codes[i]!]!));
          }
          expect(maxCode).toBe(448);
        }
      }
    }
  });

  it('validates shapes', () => {
    expect(() => quantizeActivationsFp8(new Float32Array(10), 3, 4)).toThrow(RangeError);
    expect(() => quantizeActivationsFp8(new Float32Array(12), 3, 4, 0)).toThrow(RangeError);
    expect(() => dequantizeActivationsFp8(new Uint8Array(12), new Float32Array(2), 3, 4)).toThrow(RangeError);
    const none = quantizeActivationsFp8(new Float32Array(0), 0, 128);
    expect([none.codes.length, none.scales.length]).toEqual([0, 0]);
  });
});
