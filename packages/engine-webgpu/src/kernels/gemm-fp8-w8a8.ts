/**
 * Tiled GEMM over block-FP8 weights with FP8-quantised activations (w8a8), the prefill / large-batch path:
 *   y[r, o] = Σ_b ( Σ_{i ∈ block b} xq[r, i] · e4m3(W[o, i]) ) · xscale[r, b] · wscale[⌊o/128⌋, b],
 * written at out[r · outStride + outOffset + o] — the CPU reference's order of operations exactly: each output's
 * 128-wide block partial of unscaled products is formed in a register first, then multiplied by the activation
 * scale, then by the weight scale, and added to the output's sum.
 *
 * Layouts: xq f32 [rows, inDim] holding exact e4m3 values; xscale f32 [rows, ⌈inDim/128⌉]; W E4M3 codes
 * [outDim, inDim] bound as array<u32> (element e in byte e % 4 of word e / 4; inDim % 4 == 0); wscale =
 * `weight_scale_inv` f32 [⌈outDim/128⌉, ⌈inDim/128⌉]; out f32 with row stride `outStride`, offset `outOffset`.
 *
 * Launch: as gemm-bf16 — workgroup_size 256, grid (⌈outDim / 64⌉, ⌈rows / 64⌉), a 64 × 64 output tile per
 * workgroup, 4 × 4 per invocation, K-tiles of 16 (raw e4m3 values) staged in workgroup memory. The K-tile
 * products go into a 4 × 4 register tile of block partials; after the K-tile that ends a 128-block (or the
 * last one, for a partial block) each partial is scaled into the sum and reset. A 64-feature tile lies within
 * one 128-row scale block, so one weight scale serves the whole tile.
 */
import type { KernelSpec } from '../gpu/kernel-runner.js';
import { gemmSource, loadFp8Weights } from './gemm-bf16.js';

export function gemmFp8W8a8Kernel(): KernelSpec {
  const source = gemmSource({
    bindings: /* wgsl */ `
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> xscale: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<u32>;
@group(0) @binding(4) var<storage, read> wscale: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;`,
    loadWeights: loadFp8Weights(false),
    declarations: /* wgsl */ `
  var part: array<array<f32, 4>, 4>;`,
    accumulator: 'part',
    afterTile: /* wgsl */ `
    if ((k0 + BK) % 128u == 0u || k0 + BK >= p.inDim) {
      let block = k0 / 128u;
      let ws = wscale[(o0 / 128u) * p.scaleCols + block];
      for (var i = 0u; i < 4u; i++) {
        let r = r0 + ty + 16u * i;
        var xs = 0.0;
        if (r < p.rows) { xs = xscale[r * p.scaleCols + block]; }
        for (var j = 0u; j < 4u; j++) {
          acc[i][j] += part[i][j] * xs * ws;
          part[i][j] = 0.0;
        }
      }
    }`,
  });
  return { name: 'gemm-fp8-w8a8', source };
}
