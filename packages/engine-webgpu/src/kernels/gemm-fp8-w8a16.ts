/**
 * Tiled GEMM over block-FP8 weights with f32 activations (w8a16), the prefill / large-batch path:
 *   y[r, o] = Σ_i x[r, i] · e4m3(W[o, i]) · scale[⌊o/128⌋, ⌊i/128⌋],  written at out[r · outStride + outOffset + o].
 *
 * Layouts: x f32 [rows, inDim] row-major; W E4M3 codes [outDim, inDim] bound as array<u32> (element e in byte
 * e % 4 of word e / 4; inDim % 4 == 0); scale = `weight_scale_inv` f32 [⌈outDim/128⌉, ⌈inDim/128⌉] (partial
 * last blocks allowed); out f32 with row stride `outStride` ≥ outDim and column offset `outOffset`.
 *
 * Launch: as gemm-bf16 — workgroup_size 256, grid (⌈outDim / 64⌉, ⌈rows / 64⌉), a 64 × 64 output tile per
 * workgroup, 4 × 4 per invocation, K-tiles of 16 staged in workgroup memory. Each invocation loads one code
 * word (64 features × 4 words per K-tile) and dequantises it while staging it (e4m3 × the scale of block
 * (⌊o/128⌋, ⌊k0/128⌋): a 16-wide K-tile starting at a multiple of 16 never straddles a 128-block).
 */
import type { KernelSpec } from '../gpu/kernel-runner.js';
import { gemmSource, loadFp8Weights } from './gemm-bf16.js';

export function gemmFp8W8a16Kernel(): KernelSpec {
  const source = gemmSource({
    bindings: /* wgsl */ `
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> wscale: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;`,
    loadWeights: loadFp8Weights(true),
  });
  return { name: 'gemm-fp8-w8a16', source };
}
