/**
 * A seeded, reproducible PRNG: xoshiro128** 1.1 (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c),
 * with its 128-bit state filled from two outputs of splitmix64 seeded with the seed, as the authors recommend.
 * Everything after seeding is 32-bit integer work (Math.imul), so it is fast and identical on every JS engine.
 *
 * The algorithm and seeding are part of quantbench's reproducibility contract: changing them changes every
 * sampled run, which the tests' fixed first values catch.
 */

export interface RngState {
  readonly algorithm: 'xoshiro128**';
  /** The four 32-bit state words, unsigned. */
  readonly s: readonly [number, number, number, number];
}

export interface Rng {
  /** Uniform in [0, 1) with 53 random bits (two 32-bit outputs), so even a 1e-9 probability is resolved. */
  nextFloat(): number;
  /** Uniform unsigned 32-bit integer. */
  nextU32(): number;
  /** A snapshot that `createRng` resumes from: the same stream continues from where it was taken. */
  state(): RngState;
}

const MASK64 = (1n << 64n) - 1n;

function splitmix64(x: bigint): { next: bigint; out: bigint } {
  const next = (x + 0x9e3779b97f4a7c15n) & MASK64;
  let z = next;
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return { next, out: z ^ (z >> 31n) };
}

/** Seeds are safe integers; negatives are taken modulo 2^64, so every seed gives a distinct stream. */
function seedState(seed: number): [number, number, number, number] {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  const a = splitmix64(BigInt.asUintN(64, BigInt(seed)));
  const b = splitmix64(a.next);
  // Low word first, as a little-endian reinterpretation of the two 64-bit outputs as four 32-bit words.
  return [Number(a.out & 0xffffffffn), Number(a.out >> 32n), Number(b.out & 0xffffffffn), Number(b.out >> 32n)];
}

export function createRng(seedOrState: number | RngState): Rng {
  let s0: number, s1: number, s2: number, s3: number;
  if (typeof seedOrState === 'number') {
    [s0, s1, s2, s3] = seedState(seedOrState);
  } else {
    if (seedOrState.algorithm !== 'xoshiro128**') throw new Error(`unknown RNG algorithm ${seedOrState.algorithm}`);
    [s0, s1, s2, s3] = seedOrState.s.map((w) => w >>> 0) as [number, number, number, number];
  }
  // The all-zero state is xoshiro's one fixed point; splitmix64 essentially never yields it, a bad state might.
  if ((s0 | s1 | s2 | s3) === 0) throw new Error('xoshiro128** state must not be all zero');

  const nextU32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return result;
  };

  return {
    nextU32,
    nextFloat: () => {
      const hi = nextU32() >>> 5; // 27 bits
      const lo = nextU32() >>> 6; // 26 bits
      return (hi * 67108864 + lo) / 9007199254740992; // (hi·2^26 + lo) / 2^53
    },
    state: () => ({ algorithm: 'xoshiro128**', s: [s0 >>> 0, s1 >>> 0, s2 >>> 0, s3 >>> 0] }),
  };
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
