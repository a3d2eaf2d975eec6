/**
 * GEMV over block-FP8 weights with f32 activations (w8a16), the decode path (1..8 activation rows):
 *   y[r, o] = Σ_i x[r, i] · e4m3(W[o, i]) · scale[⌊o/128⌋, ⌊i/128⌋],  written at out[r · outStride + outOffset + o].
 *
 * Layouts: x f32 [rows, inDim] row-major (bound as vec4<f32>; inDim % 4 == 0); W E4M3 codes [outDim, inDim]
 * row-major bound as array<u32> (element e = o·inDim + i in byte e % 4 of word e / 4); scale = the checkpoint's
 * `weight_scale_inv`, f32 [⌈outDim/128⌉, ⌈inDim/128⌉] (a row's or column's last block may be partial);
 * out f32 with row stride `outStride` ≥ outDim and column offset `outOffset`.
 *
 * Launch: as gemv-bf16 — workgroup_size 64, one workgroup per output feature o on a 2-D grid
 * (gridX = min(outDim, 65535), gridY = ⌈outDim / gridX⌉). Invocation t reads code words t, t + 64, … of row o
 * once each; a word's four codes lie in one 128-block (4 | 128), so it is dequantised in registers with that
 * block's scale (e4m3 × scale) and dotted with the four activations of every row. Workgroup reduction
 * (subgroupAdd or a shared-memory tree) as in gemv-bf16.
 */
import type { KernelSpec } from '../gpu/kernel-runner.js';
import { type GemvOptions, gemvSource } from './gemv-bf16.js';

export function gemvFp8W8a16Kernel(options: GemvOptions): KernelSpec {
  const source = gemvSource(options, {
    bindings: /* wgsl */ `
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> wscale: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;`,
    body: /* wgsl */ `
  let words = p.inDim / 4u;
  let base = o * words;
  let scaleBase = (o / 128u) * p.scaleCols;
  for (var k = lid; k < words; k += THREADS) {
    let word = w[base + k];
    let scale = wscale[scaleBase + k / 32u];
    let wv = vec4f(e4m3_at(word, 0u), e4m3_at(word, 1u), e4m3_at(word, 2u), e4m3_at(word, 3u)) * scale;
    for (var r = 0u; r < ROWS; r++) { acc[r] += dot(x[r * words + k], wv); }
  }`,
  });
  return { name: `gemv-fp8-w8a16-r${options.rows}${options.subgroups ? '-sg' : ''}`, source };
}
