/**
 * Dynamic per-token 1×128 FP8 activation quantisation on the GPU against core's `quantizeActivationsFp8` /
 * `f32ToE4m3`.
 *
 * - The WGSL rounding (`e4m3_round`) alone, on constructed f32 inputs: every e4m3 value, every midpoint between
 *   neighbours (ties to even) and its f32 neighbours, the subnormal range, values past 448 (saturation) and random
 *   values; results must be bit-identical to core's.
 * - The whole kernel on rows built so that every group's amax is 448 · 2^k: then scale = 2^k and x / scale are exact
 *   in f32 on any implementation, and codes and scales must match core exactly.
 * - The whole kernel on random rows. WGSL only promises f32 division to 2.5 ulp, so amax / 448 and x / scale may
 *   differ in the last bit from JavaScript's correctly rounded quotient: scales may differ by an ulp, and a code may
 *   differ by one step, but only where the exact x / scale lies within a few ulps of a rounding boundary.
 */
import { E4M3_DECODE, f32ToE4m3, quantizeActivationsFp8 } from '@quantbench/core';
import { describe, expect, it } from 'vitest';
import { params } from '../src/gpu/index.js';
import { recordQuantizeActivations } from '../src/kernels/matmul.js';
import { E4M3_ROUND_WGSL } from '../src/kernels/quantize-activations-fp8.js';
import { empty, gpu, readF32, runner, upload } from './gpu-harness.js';
import { random } from './seeded-random.js';

const GROUP = 128;


const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function bits(x: number): number {
  f32[0] = x;
  return u32[0]!;
}
function fromBits(b: number): number {
  u32[0] = b >>> 0;
  return f32[0]!;
}

/** Non-negative finite e4m3 values in increasing order (codes 0x00..0x7e). */
const POSITIVE = Array.from({ length: 0x7f }, (_, code) => E4M3_DECODE[code]!);

/** Values that stress the rounding: codes, midpoints (ties), their f32 neighbours, tiny and huge values. */
function hardValues(rand: () => number): number[] {
  const out: number[] = [];
  for (let i = 0; i < POSITIVE.length; i++) {
    const v = POSITIVE[i]!;
    out.push(v);
    const next = POSITIVE[i + 1];
    if (next !== undefined) {
      const mid = Math.fround((v + next) / 2); // exact: e4m3 values have 4 significant bits
      out.push(mid, fromBits(bits(mid) + 1), fromBits(bits(mid) - 1));
    }
  }
  // Past the largest finite value: 448 … 464 (the tie towards the non-existent 480) … and beyond.
  out.push(448.5, 463.99998, 464, 464.00003, 470, 480, 1000, 3e38);
  // The subnormal range and below: 2^-10 is the tie between 0 and 2^-9.
  out.push(2 ** -10, fromBits(bits(2 ** -10) + 1), fromBits(bits(2 ** -10) - 1), 2 ** -11, 1e-6, 1e-30, 2 ** -6 - 2 ** -30);
  for (let i = 0; i < 200; i++) out.push(2 ** (-12 + 22 * rand()) * (1 + rand()));
  return out;
}

describe('e4m3 rounding in WGSL', () => {
  it('matches core f32ToE4m3 bit for bit on codes, ties, subnormals and saturation', async () => {
    const run = await runner();
    const rand = random(11);
    const positive = hardValues(rand);
    const t = Float32Array.from([...positive, ...positive.map((v) => -v), 0, -0]);
    const input = await upload(t);
    const output = await empty(t.byteLength);
    const source = `${E4M3_ROUND_WGSL}
struct Params { count: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> t: array<f32>;
@group(0) @binding(2) var<storage, read_write> v: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x < p.count) { v[id.x] = e4m3_round(t[id.x]); }
}`;
    run.dispatch({ name: 'e4m3-round-test', source }, { buffers: [input, output], params: params(t.length), workgroups: [Math.ceil(t.length / 64)] });
    const got = new Uint32Array((await readF32(run, output, t.length)).buffer);
    const mismatches: string[] = [];
    for (let i = 0; i < t.length; i++) {
      const want = bits(E4M3_DECODE[f32ToE4m3(t[i]!)]!);
      if (got[i] !== want) mismatches.push(`${t[i]}: got ${fromBits(got[i]!)} want ${fromBits(want)}`);
    }
    expect(mismatches).toEqual([]);
  });
});

/** Rows whose groups each have amax = 448 · 2^k, so scale = 2^k and every x / scale is exact. */
function exactRows(rows: number, dim: number, rand: () => number): Float32Array {
  const hard = hardValues(rand).filter((v) => v < 448);
  const x = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g * GROUP < dim; g++) {
      const start = g * GROUP;
      const end = Math.min(dim, start + GROUP);
      const scale = 2 ** Math.floor(-14 + 20 * rand());
      for (let i = start; i < end; i++) {
        const pick = rand();
        const t = pick < 0.6 ? hard[Math.floor(rand() * hard.length)]! : pick < 0.8 ? 448 * rand() : 2 ** -6 * rand();
        x[r * dim + i] = (rand() < 0.5 ? -t : t) * scale;
      }
      x[r * dim + start + Math.floor(rand() * (end - start))] = (rand() < 0.5 ? -448 : 448) * scale;
    }
  }
  return x;
}

function codeOf(value: number): number {
  return f32ToE4m3(value);
}

async function quantizeOnGpu(x: Float32Array, rows: number, dim: number, subgroups: boolean): Promise<{ values: Float32Array; scales: Float32Array }> {
  const ctx = await gpu();
  const run = await runner();
  const groups = Math.ceil(dim / GROUP);
  const input = await upload(x);
  const values = await empty(x.byteLength, 'values');
  const scales = await empty(rows * groups * 4, 'scales');
  recordQuantizeActivations(run, { input, values, scales, rows, dim, subgroups });
  const result = { values: await readF32(run, values, rows * dim), scales: await readF32(run, scales, rows * groups) };
  for (const b of [input, values, scales]) ctx.memory.destroy(b);
  return result;
}

describe('quantize-activations-fp8 kernel', () => {
  for (const subgroups of [false, true]) {
    it(`matches core exactly where the divisions are exact (subgroups ${subgroups})`, async () => {
      const rand = random(subgroups ? 21 : 22);
      for (const [rows, dim] of [
        [7, 704],
        [3, 256],
        [2, 100],
      ] as const) {
        const x = exactRows(rows, dim, rand);
        const core = quantizeActivationsFp8(x, rows, dim);
        const gpuResult = await quantizeOnGpu(x, rows, dim, subgroups);
        expect(Array.from(gpuResult.scales)).toEqual(Array.from(core.scales));
        const gotBits = new Uint32Array(gpuResult.values.buffer);
        const wantBits = new Uint32Array(Float32Array.from(core.codes, (code) => E4M3_DECODE[code]!).buffer);
        let mismatches = 0;
        for (let i = 0; i < gotBits.length; i++) if (gotBits[i] !== wantBits[i]) mismatches++;
        expect(mismatches).toBe(0);
      }
    });

    it(`matches core on random rows up to last-ulp division differences, and an all-zero group (subgroups ${subgroups})`, async () => {
      const rand = random(subgroups ? 31 : 32);
      const rows = 16;
      const dim = 704;
      const groups = Math.ceil(dim / GROUP);
      const x = new Float32Array(rows * dim);
      for (let i = 0; i < x.length; i++) x[i] = (rand() - 0.5) * 2 ** (-8 + 16 * rand());
      x.fill(0, 3 * dim + 128, 3 * dim + 256); // row 3, group 1: all zeros
      const core = quantizeActivationsFp8(x, rows, dim);
      const gpuResult = await quantizeOnGpu(x, rows, dim, subgroups);
      let scaleUlps = 0;
      for (let i = 0; i < core.scales.length; i++) scaleUlps = Math.max(scaleUlps, Math.abs(bits(gpuResult.scales[i]!) - bits(core.scales[i]!)));
      expect(scaleUlps).toBeLessThanOrEqual(1);
      expect(gpuResult.values.subarray(3 * dim + 128, 3 * dim + 256).every((v) => v === 0)).toBe(true);
      let differing = 0;
      for (let r = 0; r < rows; r++) {
        for (let i = 0; i < dim; i++) {
          const at = r * dim + i;
          const want = core.codes[at]!;
          const got = codeOf(gpuResult.values[at]!);
          if (got === want) continue;
          differing++;
          // Only a one-step difference, and only where x / scale (with the GPU's scale) is within 4 ulps of
          // the boundary between the two codes.
          const a = E4M3_DECODE[want]!;
          const b = E4M3_DECODE[got]!;
          expect(Math.abs(((want & 0x7f) - (got & 0x7f)) | 0)).toBeLessThanOrEqual(1);
          const boundary = (a + b) / 2;
          const quotient = x[at]! / gpuResult.scales[r * groups + Math.floor(i / GROUP)]!;
          expect(Math.abs(quotient - boundary)).toBeLessThanOrEqual(4 * 2 ** -23 * Math.abs(boundary));
        }
      }
      console.log(`random rows (subgroups ${subgroups}): ${differing} of ${rows * dim} codes differ from core by a last-ulp quotient, scales within ${scaleUlps} ulp (amax / 448 in WGSL division)`);
      expect(differing).toBeLessThanOrEqual(rows * dim * 0.001);
      // Every value is an e4m3 value within ±448.
      for (const v of gpuResult.values) expect(E4M3_DECODE[codeOf(v)]).toBe(v);
    });
  }
});
