import { describe, expect, it } from 'vitest';
import { createRng } from '../../src/sampling/rng.js';

// First outputs computed with the reference C code (xoshiro128starstar.c, state from splitmix64.c's first two
// outputs, low word first). If these change, every seeded run in quantbench changes.
const FIRST_U32: Record<number, number[]> = {
  0: [3737715805, 2584255861, 2876756834, 3286328325, 1553311962, 1625202774],
  42: [1776835114, 4165204688, 17111135, 2317295270, 2792088233, 2554630222],
  [-1]: [477689756, 2493998634, 555695776, 607808419, 61340979, 301466976],
};
/** The nextFloat that follows those six outputs. */
const SEVENTH_FLOAT: Record<number, number> = { 0: 0.759190638670705, 42: 0.6846020186141416, [-1]: 0.5770673274801271 };

describe('createRng', () => {
  it('reproduces the reference xoshiro128** stream', () => {
    for (const seed of [0, 42, -1]) {
      const rng = createRng(seed);
      expect(Array.from({ length: 6 }, () => rng.nextU32())).toEqual(FIRST_U32[seed]);
      expect(rng.nextFloat()).toBe(SEVENTH_FLOAT[seed]);
    }
  });

  it('gives the same stream for the same seed and different streams for different seeds', () => {
    const a = createRng(1234);
    const b = createRng(1234);
    const c = createRng(1235);
    const d = createRng(1234 + 2 ** 32); // high bits of the seed matter too
    const sa = Array.from({ length: 100 }, () => a.nextU32());
    expect(Array.from({ length: 100 }, () => b.nextU32())).toEqual(sa);
    expect(Array.from({ length: 100 }, () => c.nextU32())).not.toEqual(sa);
    expect(Array.from({ length: 100 }, () => d.nextU32())).not.toEqual(sa);
  });

  it('resumes from a serialised state', () => {
    const rng = createRng(99);
    for (let i = 0; i < 17; i++) rng.nextFloat();
    const saved = JSON.parse(JSON.stringify(rng.state())) as ReturnType<typeof rng.state>;
    expect(saved.algorithm).toBe('xoshiro128**');
    const expected = Array.from({ length: 50 }, () => rng.nextU32());
    const resumed = createRng(saved);
    expect(Array.from({ length: 50 }, () => resumed.nextU32())).toEqual(expected);
    // Taking a snapshot does not advance the stream, and later snapshots differ.
    expect(resumed.state()).toEqual(rng.state());
    expect(resumed.state()).not.toEqual(saved);
  });

  it('yields floats in [0, 1) with about the right mean and unsigned 32-bit integers', () => {
    const rng = createRng(7);
    let sum = 0;
    let bad = 0;
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const f = rng.nextFloat();
      if (!(f >= 0 && f < 1)) bad++;
      sum += f;
      const u = rng.nextU32();
      if (!(Number.isInteger(u) && u >= 0 && u < 2 ** 32)) bad++;
    }
    expect(bad).toBe(0);
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.005); // ~5 standard errors
  });

  it('rejects bad seeds and states', () => {
    expect(() => createRng(1.5)).toThrow(RangeError);
    expect(() => createRng(2 ** 60)).toThrow(RangeError);
    expect(() => createRng(NaN)).toThrow(RangeError);
    expect(() => createRng({ algorithm: 'xoshiro128**', s: [0, 0, 0, 0] })).toThrow();
    expect(() => createRng({ algorithm: 'pcg32' as 'xoshiro128**', s: [1, 2, 3, 4] })).toThrow();
  });
});
