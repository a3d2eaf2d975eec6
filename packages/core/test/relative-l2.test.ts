import { describe, expect, it } from 'vitest';
import { relativeL2 } from '../src/index.js';

describe('relativeL2', () => {
  it('is ‖test − reference‖ / ‖reference‖', () => {
    expect(relativeL2([3, 4], [3, 4])).toBe(0);
    expect(relativeL2(Float32Array.from([3, 5]), Float64Array.from([3, 4]))).toBeCloseTo(1 / 5, 15);
  });

  it('handles a zero reference and refuses mismatched lengths', () => {
    expect(relativeL2([0, 0], [0, 0])).toBe(0);
    expect(relativeL2([1, 0], [0, 0])).toBe(Infinity);
    expect(() => relativeL2([1], [1, 2])).toThrow(/lengths differ/);
  });
});
