/**
 * GEMV over BF16 weights, the decode path (1..8 activation rows):
 *   y[r, o] = Σ_i x[r, i] · W[o, i],  written at out[r · outStride + outOffset + o].
 *
 * Layouts: x f32 [rows, inDim] row-major (bound as vec2<f32>, so inDim must be even); W BF16 [outDim, inDim]
 * row-major, raw bytes bound as array<u32> (two elements a word, element 2k in the low half, see `bf16_at`);
 * out f32 with row stride `outStride` ≥ outDim and column offset `outOffset`.
 *
 * Launch: workgroup_size GEMV_THREADS (64), one workgroup per output feature o on a 2-D grid
 * (gridX = min(outDim, 65535), gridY = ⌈outDim / gridX⌉, o = wg.y · gridX + wg.x; the spare workgroups of the
 * last grid row return at once). Invocation t reads weight words t, t + 64, … of row o, each exactly once,
 * decodes it and multiplies it into all `rows` accumulators (rows is a compile-time constant, so the
 * accumulators stay in registers); the workgroup then reduces each row's 64 partials — subgroupAdd plus a
 * pass over the per-subgroup sums in workgroup memory when the device has subgroups, a shared-memory tree
 * otherwise — and invocation r < rows writes y[r, o].
 *
 * This file also holds the GEMV skeleton (parameters, grid mapping, reduction) that the FP8 GEMVs share.
 */
import type { KernelSpec } from '../gpu/kernel-runner.js';
import { FORMATS_WGSL } from './wgsl/formats.js';

/** Invocations per GEMV workgroup. */
export const GEMV_THREADS = 64;
/** Activation rows a GEMV handles; more rows go to the tiled GEMM. */
export const GEMV_MAX_ROWS = 8;
/** Largest workgroup count in one grid dimension (WebGPU's default maxComputeWorkgroupsPerDimension). */
export const MAX_WORKGROUPS_PER_DIMENSION = 65535;

export interface GemvOptions {
  /** Use subgroupAdd for the reduction (needs the `subgroups` feature on the device). */
  readonly subgroups: boolean;
  /** Activation rows, 1..GEMV_MAX_ROWS: compiled in, one pipeline per row count. */
  readonly rows: number;
}

/**
 * The uniform parameters of every GEMV, in this order (see `gemvParams` in matmul.ts):
 * rows, inDim, outDim, outStride, outOffset, gridX, scaleCols (⌈inDim/128⌉; unused by BF16), pad.
 */
const PARAMS_WGSL = /* wgsl */ `
struct Params {
  rows: u32,
  inDim: u32,
  outDim: u32,
  outStride: u32,
  outOffset: u32,
  gridX: u32,
  scaleCols: u32,
  pad: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
`;

function reduction(subgroups: boolean): string {
  if (subgroups) {
    // Subgroups are assumed to be consecutive runs of local_invocation_index (what Vulkan, Metal and D3D do
    // for a 1-D workgroup); subgroup k's sums land in red[r · THREADS + k].
    return /* wgsl */ `
  for (var r = 0u; r < ROWS; r++) {
    let s = subgroupAdd(acc[r]);
    if (sg_lane == 0u) { red[r * THREADS + lid / sg_size] = s; }
  }
  workgroupBarrier();
  if (lid < ROWS) {
    var total = 0.0;
    let groups = (THREADS + sg_size - 1u) / sg_size;
    for (var k = 0u; k < groups; k++) { total += red[lid * THREADS + k]; }
    out[lid * p.outStride + p.outOffset + o] = total;
  }`;
  }
  return /* wgsl */ `
  for (var r = 0u; r < ROWS; r++) { red[r * THREADS + lid] = acc[r]; }
  workgroupBarrier();
  for (var half = THREADS / 2u; half > 0u; half >>= 1u) {
    if (lid < half) {
      for (var r = 0u; r < ROWS; r++) { red[r * THREADS + lid] += red[r * THREADS + lid + half]; }
    }
    workgroupBarrier();
  }
  if (lid < ROWS) { out[lid * p.outStride + p.outOffset + o] = red[lid * THREADS]; }`;
}

/**
 * Builds a GEMV: `bindings` declares the storage buffers from binding 1 (one of them `out`), `body` accumulates
 * acc[r] (r < ROWS) for output `o` from invocation `lid`'s share of the weight row.
 */
export function gemvSource(options: GemvOptions, parts: { readonly bindings: string; readonly body: string }): string {
  const { subgroups, rows } = options;
  if (!Number.isInteger(rows) || rows < 1 || rows > GEMV_MAX_ROWS) throw new RangeError(`GEMV rows ${rows} outside 1..${GEMV_MAX_ROWS}`);
  const builtins = subgroups ? ', @builtin(subgroup_invocation_id) sg_lane: u32, @builtin(subgroup_size) sg_size: u32' : '';
  return /* wgsl */ `${subgroups ? 'enable subgroups;\n' : ''}${FORMATS_WGSL}
${PARAMS_WGSL}
${parts.bindings}

const ROWS = ${rows}u;
const THREADS = ${GEMV_THREADS}u;
var<workgroup> red: array<f32, ${rows * GEMV_THREADS}>;

@compute @workgroup_size(${GEMV_THREADS})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32${builtins}) {
  let o = wg.y * p.gridX + wg.x;
  if (o >= p.outDim) { return; }
  var acc: array<f32, ROWS>;
${parts.body}
${reduction(subgroups)}
}
`;
}

export function gemvBf16Kernel(options: GemvOptions): KernelSpec {
  const source = gemvSource(options, {
    bindings: /* wgsl */ `
@group(0) @binding(1) var<storage, read> x: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;`,
    body: /* wgsl */ `
  let words = p.inDim / 2u;
  let base = o * words;
  for (var k = lid; k < words; k += THREADS) {
    let word = w[base + k];
    let wv = vec2f(bf16_at(word, 0u), bf16_at(word, 1u));
    for (var r = 0u; r < ROWS; r++) { acc[r] += dot(x[r * words + k], wv); }
  }`,
  });
  return { name: `gemv-bf16-r${options.rows}${options.subgroups ? '-sg' : ''}`, source };
}
