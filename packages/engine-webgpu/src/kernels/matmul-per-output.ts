/**
 * y[r, o] = Σ_i x[r, i] · W[o, i] for every weight format (bf16, FP8 w8a16, FP8 w8a8), with ONE INVOCATION PER
 * OUTPUT FEATURE: no workgroup memory and no barriers. This is the matmul for software adapters (SwiftShader,
 * llvmpipe), where every workgroup and barrier costs tens of microseconds on the CPU: the cooperative GEMV (one
 * workgroup per output, 151,936 workgroups for the lm_head) takes seconds there, this kernel a fraction of that.
 * On hardware the cooperative kernels read the weights coalesced and win; matmul.ts chooses.
 *
 * Layouts as the other matmuls: x f32 [rows, inDim] (w8a8: exact e4m3 values plus scales [rows, ⌈inDim/128⌉]);
 * W BF16 (two per u32) or E4M3 codes (four per u32) [outDim, inDim] with FP8 scales [⌈outDim/128⌉, ⌈inDim/128⌉];
 * out f32 at out[r · outStride + outOffset + o]. The FP8 arithmetic is the CPU reference's: w8a16 dequantises
 * each weight with its block scale, w8a8 sums each 128-wide block's exact products, then scales the block partial
 * by xscale · wscale.
 *
 * Launch: workgroup_size 64, grid (min(⌈outDim/64⌉, 65535), ⌈…/65535⌉); invocation o walks weight row o once per
 * group of G activation rows (G = min(rows, 8), compiled in), keeping the G sums in registers. Reads past the
 * last row of a partial group stay inside the activation buffer when it holds a multiple of G rows (the engine
 * allocates activations for its largest row count, a multiple of 8).
 */
import type { KernelSpec } from '../gpu/kernel-runner.js';
import type { MatmulMode } from './matmul.js';
import { FORMATS_WGSL } from './wgsl/formats.js';

export const PER_OUTPUT_THREADS = 64;

const BINDINGS: Record<MatmulMode, string> = {
  bf16: `
@group(0) @binding(1) var<storage, read> x: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;`,
  w8a16: `
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> wscale: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;`,
  w8a8: `
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> xscale: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<u32>;
@group(0) @binding(4) var<storage, read> wscale: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;`,
};

/** Accumulates acc[j] (j < G) for rows r0 + j over weight row o. */
const BODIES: Record<MatmulMode, string> = {
  bf16: `
    let words = p.inDim / 2u;
    for (var k = 0u; k < words; k++) {
      let word = w[o * words + k];
      let wv = vec2f(bf16_at(word, 0u), bf16_at(word, 1u));
      for (var j = 0u; j < G; j++) { acc[j] += dot(x[(r0 + j) * words + k], wv); }
    }`,
  w8a16: `
    let words = p.inDim / 4u;
    let scaleRow = (o / 128u) * p.scaleCols;
    for (var k = 0u; k < words; k++) {
      let word = w[o * words + k];
      let ws = wscale[scaleRow + k / 32u];
      let wv = vec4f(e4m3_at(word, 0u), e4m3_at(word, 1u), e4m3_at(word, 2u), e4m3_at(word, 3u)) * ws;
      for (var j = 0u; j < G; j++) { acc[j] += dot(x[(r0 + j) * words + k], wv); }
    }`,
  w8a8: `
    let words = p.inDim / 4u;
    let scaleRow = (o / 128u) * p.scaleCols;
    for (var b = 0u; b < p.scaleCols; b++) {
      // Zeroed explicitly (as acc above): SwiftShader was seen to keep a loop-body var's value across iterations.
      var partial: array<f32, G>;
      for (var j = 0u; j < G; j++) { partial[j] = 0.0; }
      for (var k = b * 32u; k < min(words, (b + 1u) * 32u); k++) {
        let word = w[o * words + k];
        let wv = vec4f(e4m3_at(word, 0u), e4m3_at(word, 1u), e4m3_at(word, 2u), e4m3_at(word, 3u));
        for (var j = 0u; j < G; j++) { partial[j] += dot(x[(r0 + j) * words + k], wv); }
      }
      let ws = wscale[scaleRow + b];
      for (var j = 0u; j < G; j++) { acc[j] += partial[j] * xscale[(r0 + j) * p.scaleCols + b] * ws; }
    }`,
};

/** Rows per pass over the weights: compiled in (1..8), so the sums stay in registers and the loops unroll. */
export function perOutputRowGroup(rows: number): number {
  return Math.min(8, Math.max(1, rows));
}

export function matmulPerOutputKernel(mode: MatmulMode, group: number): KernelSpec {
  const source = /* wgsl */ `${FORMATS_WGSL}
const G = ${group}u;
struct Params { rows: u32, inDim: u32, outDim: u32, outStride: u32, outOffset: u32, gridX: u32, scaleCols: u32, pad: u32 }
@group(0) @binding(0) var<uniform> p: Params;
${BINDINGS[mode]}

@compute @workgroup_size(${PER_OUTPUT_THREADS})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let o = (wg.y * p.gridX + wg.x) * ${PER_OUTPUT_THREADS}u + lid;
  if (o >= p.outDim) { return; }
  for (var r0 = 0u; r0 < p.rows; r0 += G) {
    var acc: array<f32, G>;
    for (var j = 0u; j < G; j++) { acc[j] = 0.0; }
${BODIES[mode]}
    // A last partial group computed rows past p.rows from whatever the buffers hold there; they are not stored.
    for (var j = 0u; j < G; j++) {
      if (r0 + j < p.rows) { out[(r0 + j) * p.outStride + p.outOffset + o] = acc[j]; }
    }
  }
}
`;
  return { name: `matmul-per-output-${mode}-g${group}`, source };
}
