/**
 * Dynamic per-token-group FP8 (e4m3) activation quantisation for w8a8 GEMMs, as core's `quantizeActivationsFp8`
 * (vLLM's `per_token_group_quant_fp8`): each row of x is cut into groups of 128 along dim, and per group
 *   scale = max(amax, 1e-10) / 448,   value[i] = e4m3_round(x[i] / scale),
 * with e4m3_round rounding to the nearest e4m3 value, ties to even, saturating to ±448 (no NaN from overflow).
 *
 * Layouts: x f32 [rows, dim]; values f32 [rows, dim], each the exact e4m3 value (not the code); scales f32
 * [rows, ⌈dim/128⌉]. The last group of a row may be partial (dim 704 = 5 × 128 + 64).
 *
 * Launch: workgroup_size 128, grid (⌈dim/128⌉, rows); one workgroup per (group, row), invocation t owns element
 * group·128 + t (idle past dim). amax is a workgroup max-reduction (subgroupMax, then a pass over the per-subgroup
 * maxima in workgroup memory, when the device has subgroups; a shared-memory tree otherwise); every invocation
 * then computes the same scale, invocation 0 stores it, and each invocation quantises its element.
 *
 * Rounding (exact, integer-free): for |t| ≥ 2^-6 the e4m3 quantum is 2^(e − 3) with e the unbiased exponent taken
 * from the f32 bits, below 2^-6 (subnormals) it is 2^-9; |t| · 2^-q is exact, `round` rounds half to even, and
 * the product back is exact, so the result is e4m3's round-to-nearest-even. Values from 448 up (464, the tie
 * towards the non-existent 480, included) clamp to 448. The sign is copied bit-wise (−0 stays −0).
 *
 * Numerics vs core: WGSL's f32 division is only required to be accurate to 2.5 ulp, so amax / 448 and
 * x / scale can differ in the last bit from JavaScript's correctly rounded Math.fround(a / b). The scale may then
 * differ by an ulp, and a code may differ by one step where x / scale lies within an ulp or two of a rounding
 * boundary. With power-of-two scales (amax = 448 · 2^k) both divisions are exact and the codes match exactly.
 */
import type { KernelSpec } from '../gpu/kernel-runner.js';

export const QUANT_GROUP = 128;

/** `e4m3_round(t: f32) -> f32`: the nearest e4m3 value to t, ties to even, saturating to ±448. */
export const E4M3_ROUND_WGSL = /* wgsl */ `
fn e4m3_round(t: f32) -> f32 {
  let bits = bitcast<u32>(t);
  let a = bitcast<f32>(bits & 0x7fffffffu);
  // Exponent of the quantum: floor(log2 a) − 3 from the biased f32 exponent, or −9 in the subnormal range.
  let q = select(-9, i32((bits >> 23u) & 0xffu) - 127 - 3, a >= 0.015625);
  let down = bitcast<f32>(u32(127 - q) << 23u);  // 2^-q, exact (q in [-9, 125])
  let up = bitcast<f32>(u32(127 + q) << 23u);    // 2^q
  let v = min(round(a * down) * up, 448.0);
  return bitcast<f32>(bitcast<u32>(v) | (bits & 0x80000000u));
}
`;

function reduceMax(subgroups: boolean): string {
  if (subgroups) {
    // Subgroups are assumed to be consecutive runs of local_invocation_index (Vulkan, Metal and D3D do this).
    return /* wgsl */ `
  let sg_max = subgroupMax(a);
  if (sg_lane == 0u) { red[lid / sg_size] = sg_max; }
  workgroupBarrier();
  var amax = red[0];
  for (var k = 1u; k < (GROUP + sg_size - 1u) / sg_size; k++) { amax = max(amax, red[k]); }`;
  }
  return /* wgsl */ `
  red[lid] = a;
  workgroupBarrier();
  for (var half = GROUP / 2u; half > 0u; half >>= 1u) {
    if (lid < half) { red[lid] = max(red[lid], red[lid + half]); }
    workgroupBarrier();
  }
  let amax = red[0];`;
}

export function quantizeActivationsFp8Kernel(options: { readonly subgroups: boolean }): KernelSpec {
  const { subgroups } = options;
  const builtins = subgroups ? ', @builtin(subgroup_invocation_id) sg_lane: u32, @builtin(subgroup_size) sg_size: u32' : '';
  const source = /* wgsl */ `${subgroups ? 'enable subgroups;\n' : ''}
struct Params {
  rows: u32,
  dim: u32,
  groups: u32,
  pad: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> scales: array<f32>;

const GROUP = ${QUANT_GROUP}u;
var<workgroup> red: array<f32, ${QUANT_GROUP}>;
${E4M3_ROUND_WGSL}
@compute @workgroup_size(${QUANT_GROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32${builtins}) {
  let group = wg.x;
  let row = wg.y;
  let i = group * GROUP + lid;
  let at = row * p.dim + i;
  var v = 0.0;
  if (i < p.dim) { v = x[at]; }
  let a = abs(v);
${reduceMax(subgroups)}
  let scale = max(amax, 1e-10) / 448.0;
  if (lid == 0u) { scales[row * p.groups + group] = scale; }
  if (i < p.dim) { values[at] = e4m3_round(v / scale); }
}
`;
  return { name: `quantize-activations-fp8${subgroups ? '-sg' : ''}`, source };
}
