/**
 * The fused q/k RMSNorm + RoPE + KV-cache kernel against a float64 reference computed here (RMSNorm as Qwen3,
 * rotate-half RoPE with YaRN-scaled cos/sin, cache rows at (slot, position)). Tolerance: each output is
 * a·c − b·s of f32 products after an f32 norm, so its error is a few f32 ulp (2^-23 ≈ 1.2e-7) of the larger of
 * the two terms, not of the (possibly cancelled) result; we bound it by 1e-5 × the largest magnitude in the
 * head, which has a wide margin and still catches any wrong pairing, sign, position or weight. The cache holds
 * exactly the bits the kernel wrote to k (and v's bits unchanged), and every other cache cell is untouched.
 */
import { describe, expect, it } from 'vitest';
import { recordQkNormRopeCache } from '../src/kernels/qk-norm-rope-cache.js';
import { readF32, runner, upload } from './gpu-harness.js';
import { random } from './seeded-random.js';


function uniform(next: () => number, count: number, low: number, high: number): Float32Array {
  return Float32Array.from({ length: count }, () => low + (high - low) * next());
}

/** Reference: normalises and ropes `heads` head vectors of row `r` in float64. */
function normRope(x: Float32Array, rowBase: number, heads: number, headDim: number, weight: Float32Array, eps: number, cos: Float64Array, sin: Float64Array, position: number): Float64Array {
  const half = headDim / 2;
  const out = new Float64Array(heads * headDim);
  for (let h = 0; h < heads; h++) {
    const base = rowBase + h * headDim;
    let squares = 0;
    for (let i = 0; i < headDim; i++) squares += x[base + i]! ** 2;
    const inverse = 1 / Math.sqrt(squares / headDim + eps);
    for (let j = 0; j < half; j++) {
      const a = x[base + j]! * inverse * weight[j]!;
      const b = x[base + j + half]! * inverse * weight[j + half]!;
      const c = cos[position * half + j]!;
      const s = sin[position * half + j]!;
      out[h * headDim + j] = a * c - b * s;
      out[h * headDim + j + half] = b * c + a * s;
    }
  }
  return out;
}

function expectHeadsClose(got: Float32Array, gotBase: number, want: Float64Array, heads: number, headDim: number, label: string): void {
  for (let h = 0; h < heads; h++) {
    let scale = 0;
    for (let i = 0; i < headDim; i++) scale = Math.max(scale, Math.abs(want[h * headDim + i]!));
    for (let i = 0; i < headDim; i++) {
      const error = Math.abs(got[gotBase + h * headDim + i]! - want[h * headDim + i]!);
      if (!(error <= 1e-5 * scale)) expect.fail(`${label} head ${h} [${i}]: got ${got[gotBase + h * headDim + i]}, want ${want[h * headDim + i]}`);
    }
  }
}

describe.each([false, true])('qk-norm-rope-cache (subgroups %s)', (subgroups) => {
  for (const headDim of [64, 128]) {
    it(`norms, ropes and caches q/k with headDim ${headDim}`, async () => {
      const run = await runner();
      const next = random(headDim + (subgroups ? 7 : 0));
      const heads = 4;
      const kvHeads = 2;
      const maxBatch = 3;
      const maxContext = 40;
      const eps = 1e-6;
      const half = headDim / 2;
      // (slot, position) per row: several slots, a prefill-like run in slot 0, the last position of slot 2.
      const info = [[0, 0], [2, 39], [1, 7], [0, 1], [0, 2], [2, 5]] as const;
      const rows = info.length;
      const rowInfo = Uint32Array.from(info.flat());

      // RoPE table as the engine builds it: θ = 1e6, YaRN-style attention factor, in float64 then stored as f32.
      const factor = 1.0693147;
      const cos = new Float64Array(maxContext * half);
      const sin = new Float64Array(maxContext * half);
      const table = new Float32Array(maxContext * half * 2);
      for (let position = 0; position < maxContext; position++) {
        for (let j = 0; j < half; j++) {
          const angle = position * 1e6 ** (-(2 * j) / headDim);
          cos[position * half + j] = Math.cos(angle) * factor;
          sin[position * half + j] = Math.sin(angle) * factor;
          table[2 * (position * half + j)] = cos[position * half + j]!;
          table[2 * (position * half + j) + 1] = sin[position * half + j]!;
        }
      }

      const q = uniform(next, rows * heads * headDim, -4, 4);
      const k = uniform(next, rows * kvHeads * headDim, -4, 4);
      const v = uniform(next, rows * kvHeads * headDim, -4, 4);
      q[3] = 60; // an outlier, as q/k projections have
      const qNorm = uniform(next, headDim, 0.2, 2.5);
      const kNorm = uniform(next, headDim, -1, 3);
      const cacheSize = maxBatch * maxContext * kvHeads * headDim;
      const kCacheInit = uniform(next, cacheSize, -1, 1);
      const vCacheInit = uniform(next, cacheSize, -1, 1);

      const buffers = {
        q: await upload(q),
        k: await upload(k),
        v: await upload(v),
        rowInfo: await upload(rowInfo),
        ropeTable: await upload(table),
        qkNormWeights: await upload(Float32Array.from([...qNorm, ...kNorm])),
        kCache: await upload(kCacheInit),
        vCache: await upload(vCacheInit),
      };
      recordQkNormRopeCache(run, { subgroups }, { ...buffers, rows, heads, kvHeads, headDim, maxBatch, maxContext, eps });
      const gotQ = await readF32(run, buffers.q, q.length);
      const gotK = await readF32(run, buffers.k, k.length);
      const gotV = await readF32(run, buffers.v, v.length);
      const kCache = await readF32(run, buffers.kCache, cacheSize);
      const vCache = await readF32(run, buffers.vCache, cacheSize);

      expect(gotV).toEqual(v);
      const written = new Set<number>();
      info.forEach(([slot, position], r) => {
        expectHeadsClose(gotQ, r * heads * headDim, normRope(q, r * heads * headDim, heads, headDim, qNorm, eps, cos, sin, position), heads, headDim, `q row ${r}`);
        expectHeadsClose(gotK, r * kvHeads * headDim, normRope(k, r * kvHeads * headDim, kvHeads, headDim, kNorm, eps, cos, sin, position), kvHeads, headDim, `k row ${r}`);
        const cell = (slot * maxContext + position) * kvHeads * headDim;
        for (let i = 0; i < kvHeads * headDim; i++) {
          written.add(cell + i);
          if (!Object.is(kCache[cell + i], gotK[r * kvHeads * headDim + i])) expect.fail(`K cache row ${r} [${i}] ≠ roped k`);
          if (!Object.is(vCache[cell + i], v[r * kvHeads * headDim + i])) expect.fail(`V cache row ${r} [${i}] ≠ v`);
        }
      });
      for (let i = 0; i < cacheSize; i++) {
        if (written.has(i)) continue;
        if (!Object.is(kCache[i], kCacheInit[i]) || !Object.is(vCache[i], vCacheInit[i])) expect.fail(`cache cell ${i} was touched`);
      }
    });
  }
});
