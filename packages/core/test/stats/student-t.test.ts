import { describe, expect, it } from 'vitest';
import { studentTCdf, studentTQuantile } from '../../src/index.js';

describe("Student's t", () => {
  it('matches the printed quantile tables', () => {
    // Two-sided 95% and 99% critical values (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2).
    const table: [number, number, number][] = [
      [0.975, 1, 12.706],
      [0.975, 2, 4.303],
      [0.975, 5, 2.571],
      [0.975, 30, 2.042],
      [0.995, 2, 9.925],
      [0.995, 7, 3.499],
      [0.995, 100, 2.626],
    ];
    for (const [p, df, expected] of table) expect(studentTQuantile(p, df), `t(${p}, ${df})`).toBeCloseTo(expected, 3);
  });

  it('is symmetric, and the CDF inverts the quantile', () => {
    expect(studentTQuantile(0.025, 4)).toBeCloseTo(-studentTQuantile(0.975, 4), 10);
    expect(studentTCdf(0, 3)).toBeCloseTo(0.5, 12);
    for (const df of [1, 3, 12]) expect(studentTCdf(studentTQuantile(0.9, df), df)).toBeCloseTo(0.9, 9);
  });

  it('refuses p outside (0, 1) and non-positive degrees of freedom', () => {
    expect(() => studentTQuantile(1, 3)).toThrow(RangeError);
    expect(() => studentTCdf(1, 0)).toThrow(RangeError);
  });
});
