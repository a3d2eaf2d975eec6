/**
 * GEMV over block-FP8 weights with FP8-quantised activations (w8a8), the decode path (1..8 activation rows):
 *   y[r, o] = Σ_b ( Σ_{i ∈ block b} xq[r, i] · e4m3(W[o, i]) ) · xscale[r, b] · wscale[⌊o/128⌋, b],
 * written at out[r · outStride + outOffset + o]. This is the CPU reference's (engine-cpu matmul-fp8-w8a8)
 * formula: unscaled products summed per 128-wide K block, the block partial then multiplied by the activation
 * scale and then the weight scale, and accumulated.
 *
 * Layouts: xq f32 [rows, inDim] holding exact e4m3 values (bound as vec4<f32>; inDim % 4 == 0); xscale f32
 * [rows, ⌈inDim/128⌉]; W E4M3 codes [outDim, inDim] bound as array<u32> (element e in byte e % 4 of word e / 4);
 * wscale = `weight_scale_inv`, f32 [⌈outDim/128⌉, ⌈inDim/128⌉]; out f32 with row stride `outStride` and
 * column offset `outOffset`.
 *
 * Launch: as gemv-bf16 — workgroup_size 64, one workgroup per output feature o on a 2-D grid
 * (gridX = min(outDim, 65535), gridY = ⌈outDim / gridX⌉). Invocation t reads code words t, t + 64, … of row o
 * once each. A word's four codes lie in one 128-block, so an invocation's partial for that block is the dot of
 * four exact products; it is scaled (· xscale · wscale, in that order) before it joins the invocation's sum, and
 * the workgroup reduction (subgroupAdd or a shared-memory tree, as in gemv-bf16) adds the scaled partials. By
 * distributivity this is the reference's "block partial, then scale" up to f32 rounding of the partial sums: the
 * block's partial is split over the 32 invocations that read it rather than formed first, which would need a
 * reduction per block.
 */
import type { KernelSpec } from '../gpu/kernel-runner.js';
import { type GemvOptions, gemvSource } from './gemv-bf16.js';

export function gemvFp8W8a8Kernel(options: GemvOptions): KernelSpec {
  const source = gemvSource(options, {
    bindings: /* wgsl */ `
@group(0) @binding(1) var<storage, read> xq: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> xscale: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<u32>;
@group(0) @binding(4) var<storage, read> wscale: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;`,
    body: /* wgsl */ `
  let words = p.inDim / 4u;
  let base = o * words;
  let scaleBase = (o / 128u) * p.scaleCols;
  for (var k = lid; k < words; k += THREADS) {
    let word = w[base + k];
    let block = k / 32u;
    let ws = wscale[scaleBase + block];
    let wv = vec4f(e4m3_at(word, 0u), e4m3_at(word, 1u), e4m3_at(word, 2u), e4m3_at(word, 3u));
    for (var r = 0u; r < ROWS; r++) {
      acc[r] += dot(xq[r * words + k], wv) * xscale[r * p.scaleCols + block] * ws;
    }
  }`,
  });
  return { name: `gemv-fp8-w8a8-r${options.rows}${options.subgroups ? '-sg' : ''}`, source };
}
