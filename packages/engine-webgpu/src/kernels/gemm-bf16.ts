/**
 * Tiled GEMM over BF16 weights, the prefill / large-batch path (any number of activation rows):
 *   y[r, o] = Σ_i x[r, i] · W[o, i],  written at out[r · outStride + outOffset + o].
 *
 * Layouts: x f32 [rows, inDim] row-major; W BF16 [outDim, inDim] row-major, raw bytes bound as array<u32>
 * (element e in the low half of word e / 2 when e is even; inDim even); out f32 with row stride `outStride`
 * ≥ outDim and column offset `outOffset`.
 *
 * Launch: workgroup_size 256, grid (⌈outDim / 64⌉, ⌈rows / 64⌉); each workgroup computes a 64 × 64 tile of
 * outputs (rows r0 .. r0+63, features o0 .. o0+63), walking K in tiles of GEMM_TILE_K = 16. Per K-tile the
 * workgroup stages x[r0.., k0..k0+15] and the decoded weights W[o0.., k0..k0+15] in workgroup memory (row
 * stride 17 against bank conflicts; out-of-range rows, features and K are zero-filled: bounds-checked for
 * any rows/outDim/inDim), then invocation (tx, ty) = (lid % 16, lid / 16) accumulates the 4 × 4 outputs
 * rows r0 + ty + 16i, features o0 + tx + 16j (i, j < 4) in registers. Only in-range outputs are written.
 *
 * This file also holds the GEMM skeleton the FP8 GEMMs share. K-tiles start at multiples of 16, so a tile
 * never straddles a 128-block of the FP8 scales, and a 64-feature tile lies within one 128-row scale block.
 */
import type { KernelSpec } from '../gpu/kernel-runner.js';
import { FORMATS_WGSL } from './wgsl/formats.js';

export const GEMM_TILE_ROWS = 64;
export const GEMM_TILE_OUT = 64;
export const GEMM_TILE_K = 16;
export const GEMM_THREADS = 256;

/**
 * The uniform parameters of every GEMM, in this order: rows, inDim, outDim, outStride, outOffset,
 * scaleCols (⌈inDim/128⌉; unused by BF16), pad, pad.
 */
const PARAMS_WGSL = /* wgsl */ `
struct Params {
  rows: u32,
  inDim: u32,
  outDim: u32,
  outStride: u32,
  outOffset: u32,
  scaleCols: u32,
  pad0: u32,
  pad1: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
`;

export interface GemmParts {
  /** Storage buffers from binding 1: the activations `x`, one `out`, and whatever the weights need. */
  readonly bindings: string;
  /** Fills wt[n · PAD + kk] (n < BN, kk < BK) with the weights W[o0 + n, k0 + kk], zero out of range. */
  readonly loadWeights: string;
  /** Extra per-invocation state, declared before the K loop. */
  readonly declarations?: string;
  /** The register tile the K-tile products go into: `acc` (the output) unless the kernel keeps partials. */
  readonly accumulator?: string;
  /** Runs after each K-tile's products, before the closing barrier. */
  readonly afterTile?: string;
}

export function gemmSource(parts: GemmParts): string {
  const target = parts.accumulator ?? 'acc';
  return /* wgsl */ `${FORMATS_WGSL}
${PARAMS_WGSL}
${parts.bindings}

const BM = ${GEMM_TILE_ROWS}u;
const BN = ${GEMM_TILE_OUT}u;
const BK = ${GEMM_TILE_K}u;
const PAD = ${GEMM_TILE_K + 1}u;
var<workgroup> xt: array<f32, ${GEMM_TILE_ROWS * (GEMM_TILE_K + 1)}>;
var<workgroup> wt: array<f32, ${GEMM_TILE_OUT * (GEMM_TILE_K + 1)}>;

@compute @workgroup_size(${GEMM_THREADS})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let o0 = wg.x * BN;
  let r0 = wg.y * BM;
  let tx = lid % 16u;
  let ty = lid / 16u;
  var acc: array<array<f32, 4>, 4>;
${parts.declarations ?? ''}
  for (var k0 = 0u; k0 < p.inDim; k0 += BK) {
    for (var q = 0u; q < (BM * BK) / ${GEMM_THREADS}u; q++) {
      let e = lid + q * ${GEMM_THREADS}u;
      let m = e / BK;
      let kk = e % BK;
      let r = r0 + m;
      let k = k0 + kk;
      var v = 0.0;
      if (r < p.rows && k < p.inDim) { v = x[r * p.inDim + k]; }
      xt[m * PAD + kk] = v;
    }
${parts.loadWeights}
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) { a[i] = xt[(ty + 16u * i) * PAD + kk]; }
      for (var j = 0u; j < 4u; j++) { b[j] = wt[(tx + 16u * j) * PAD + kk]; }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { ${target}[i][j] += a[i] * b[j]; }
      }
    }
${parts.afterTile ?? ''}
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let r = r0 + ty + 16u * i;
    if (r >= p.rows) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let o = o0 + tx + 16u * j;
      if (o < p.outDim) { out[r * p.outStride + p.outOffset + o] = acc[i][j]; }
    }
  }
}
`;
}

/** FP8 weights: one u32 of four codes per invocation (64 features × 4 words per K-tile), × the block scale when `scaled`. */
export function loadFp8Weights(scaled: boolean): string {
  return /* wgsl */ `
    {
      let n = lid / 4u;
      let kw = lid % 4u;
      let o = o0 + n;
      let k = k0 + 4u * kw;
      var quad = vec4f(0.0);
      if (o < p.outDim && k < p.inDim) {
        let word = w[(o * p.inDim + k) / 4u];
        quad = vec4f(e4m3_at(word, 0u), e4m3_at(word, 1u), e4m3_at(word, 2u), e4m3_at(word, 3u));${
          scaled ? `\n        quad *= wscale[(o / 128u) * p.scaleCols + k0 / 128u];` : ''
        }
      }
      let at = n * PAD + 4u * kw;
      wt[at] = quad.x;
      wt[at + 1u] = quad.y;
      wt[at + 2u] = quad.z;
      wt[at + 3u] = quad.w;
    }`;
}

export function gemmBf16Kernel(): KernelSpec {
  const source = gemmSource({
    bindings: /* wgsl */ `
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;`,
    loadWeights: /* wgsl */ `
    for (var q = 0u; q < (BN * BK / 2u) / ${GEMM_THREADS}u; q++) {
      let e = lid + q * ${GEMM_THREADS}u;
      let n = e / (BK / 2u);
      let kw = e % (BK / 2u);
      let o = o0 + n;
      let k = k0 + 2u * kw;
      var pair = vec2f(0.0);
      if (o < p.outDim && k < p.inDim) {
        let word = w[(o * p.inDim + k) / 2u];
        pair = vec2f(bf16_at(word, 0u), bf16_at(word, 1u));
      }
      wt[n * PAD + 2u * kw] = pair.x;
      wt[n * PAD + 2u * kw + 1u] = pair.y;
    }`,
  });
  return { name: 'gemm-bf16', source };
}
