/**
 * Flash-decoding, pass 1 of 2: causal grouped-query attention for decode rows, each row with its own KV-cache slot
 * and position. Every (row, head) splits its positions 0..position into chunks of ATTENTION_DECODE_CHUNK; one
 * workgroup per (chunk, head, row) writes that chunk's partial softmax state, which `attention-decode-reduce`
 * combines with log-sum-exp rescaling:
 *   m = max_p s_p,  l = Σ_p exp(s_p − m),  acc[d] = Σ_p exp(s_p − m) · V[p, g, d],  s_p = q[h] · K[p, g] / √headDim.
 *
 * Layouts (f32 unless said): q and out [rows, heads, headDim] (rows counted from `firstRow`); K and V cache
 * [maxBatch, maxContext, kvHeads, headDim], element ((slot·maxContext + p)·kvHeads + g)·headDim + d; rowInfo u32
 * pairs (slot, position) per row; partials [rows, heads, splits, headDim + 2] with splits = ⌈maxContext / CHUNK⌉,
 * each entry acc[0..headDim) then m, then l. Query head h reads kv head g = ⌊h / (heads / kvHeads)⌋.
 *
 * Launch: workgroup_size 256, grid (splits, heads, rows); a workgroup whose chunk starts past its row's position
 * returns at once (its partial entry is never read). In a workgroup each invocation scores one position (a vec4
 * dot product of headDim), the max and the sum are workgroup reductions (subgroup operations first when the
 * device has them), then headDim/4 invocations per position group accumulate vec4 slices of V over the chunk's
 * positions and the groups are summed in workgroup memory. headDim: a multiple of 4 dividing 1024, at most 256.
 *
 * Numerics: f32 throughout; the exponentials are max-subtracted so they lie in (0, 1].
 */
import type { GpuFeatures } from '../gpu/gpu-context.js';
import { type BufferBinding, type KernelRunner, type KernelSpec, params } from '../gpu/kernel-runner.js';
import { ATTENTION_DECODE_CHUNK, recordAttentionDecodeReduce } from './attention-decode-reduce.js';

export { ATTENTION_DECODE_CHUNK };

const WORKGROUP = 256;

function reductions(subgroups: boolean): string {
  if (subgroups) {
    // Subgroups are assumed to be consecutive runs of local_invocation_index (what Vulkan, Metal and D3D do).
    return /* wgsl */ `
var<workgroup> red: array<f32, ${WORKGROUP}>;

fn reduce_max(v: f32, lid: u32, sg_lane: u32, sg_size: u32) -> f32 {
  let r = subgroupMax(v);
  if (sg_lane == 0u) { red[lid / sg_size] = r; }
  workgroupBarrier();
  var out = red[0];
  for (var i = 1u; i < ${WORKGROUP}u / sg_size; i++) { out = max(out, red[i]); }
  workgroupBarrier();
  return out;
}

fn reduce_sum(v: f32, lid: u32, sg_lane: u32, sg_size: u32) -> f32 {
  let r = subgroupAdd(v);
  if (sg_lane == 0u) { red[lid / sg_size] = r; }
  workgroupBarrier();
  var out = 0.0;
  for (var i = 0u; i < ${WORKGROUP}u / sg_size; i++) { out += red[i]; }
  workgroupBarrier();
  return out;
}
`;
  }
  return /* wgsl */ `
var<workgroup> red: array<f32, ${WORKGROUP}>;

fn reduce_max(v: f32, lid: u32, sg_lane: u32, sg_size: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var stride = ${WORKGROUP / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { red[lid] = max(red[lid], red[lid + stride]); }
    workgroupBarrier();
  }
  let out = red[0];
  workgroupBarrier();
  return out;
}

fn reduce_sum(v: f32, lid: u32, sg_lane: u32, sg_size: u32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var stride = ${WORKGROUP / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { red[lid] = red[lid] + red[lid + stride]; }
    workgroupBarrier();
  }
  let out = red[0];
  workgroupBarrier();
  return out;
}
`;
}

function source(subgroups: boolean): string {
  const builtins = subgroups
    ? '@builtin(subgroup_invocation_id) sg_lane: u32, @builtin(subgroup_size) sg_size: u32'
    : '';
  return /* wgsl */ `${subgroups ? 'enable subgroups;\n' : ''}
struct Params {
  first_row: u32,
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
  max_context: u32,
  splits: u32,
  scale: f32,
}

const CHUNK: u32 = ${ATTENTION_DECODE_CHUNK}u;
const NEG: f32 = -3.0e38;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4f>;
@group(0) @binding(2) var<storage, read> keys: array<vec4f>;
@group(0) @binding(3) var<storage, read> values: array<vec4f>;
@group(0) @binding(4) var<storage, read> row_info: array<u32>;
@group(0) @binding(5) var<storage, read_write> partials: array<f32>;

var<workgroup> q_tile: array<vec4f, 64>;
var<workgroup> weights: array<f32, ${ATTENTION_DECODE_CHUNK}>;
var<workgroup> sums: array<vec4f, ${WORKGROUP}>;
${reductions(subgroups)}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32${builtins ? `, ${builtins}` : ''}) {
${subgroups ? '' : '  let sg_lane = 0u;\n  let sg_size = 1u;\n'}  let split = wid.x;
  let head = wid.y;
  let row = wid.z;
  let slot = row_info[2u * (p.first_row + row)];
  let position = row_info[2u * (p.first_row + row) + 1u];
  let start = split * CHUNK;
  if (start > position) { return; }
  let count = min(CHUNK, position + 1u - start);
  let d4 = p.head_dim / 4u;
  let g = head / (p.heads / p.kv_heads);

  let q_base = ((p.first_row + row) * p.heads + head) * d4;
  for (var i = lid; i < d4; i += ${WORKGROUP}u) { q_tile[i] = q[q_base + i]; }
  workgroupBarrier();

  var s = NEG;
  if (lid < count) {
    let k_base = ((slot * p.max_context + start + lid) * p.kv_heads + g) * d4;
    var acc = vec4f(0.0);
    for (var i = 0u; i < d4; i++) { acc += q_tile[i] * keys[k_base + i]; }
    s = (acc.x + acc.y + acc.z + acc.w) * p.scale;
  }
  let m = reduce_max(s, lid, sg_lane, sg_size);
  var e = 0.0;
  if (lid < count) { e = exp(s - m); }
  weights[lid] = e;
  let l = reduce_sum(e, lid, sg_lane, sg_size);

  // V: invocation lid takes vec4 slice (lid mod d4) of positions j ≡ ⌊lid / d4⌋ (mod groups).
  let groups = ${WORKGROUP}u / d4;
  let slice = lid % d4;
  var acc = vec4f(0.0);
  for (var j = lid / d4; j < count; j += groups) {
    acc += weights[j] * values[((slot * p.max_context + start + j) * p.kv_heads + g) * d4 + slice];
  }
  sums[lid] = acc;
  workgroupBarrier();

  let entry = p.head_dim + 2u;
  let out_base = ((row * p.heads + head) * p.splits + split) * entry;
  if (lid < d4) {
    var total = vec4f(0.0);
    for (var k = 0u; k < groups; k++) { total += sums[k * d4 + lid]; }
    partials[out_base + 4u * lid] = total.x;
    partials[out_base + 4u * lid + 1u] = total.y;
    partials[out_base + 4u * lid + 2u] = total.z;
    partials[out_base + 4u * lid + 3u] = total.w;
  }
  if (lid == 0u) {
    partials[out_base + p.head_dim] = m;
    partials[out_base + p.head_dim + 1u] = l;
  }
}
`;
}

const kernels = new Map<boolean, KernelSpec>();

/** Pass 1 of flash-decoding (see the header); `subgroups` picks subgroup reductions. */
export function attentionDecodeKernel(options: { subgroups: boolean }): KernelSpec {
  let kernel = kernels.get(options.subgroups);
  if (!kernel) {
    kernel = { name: options.subgroups ? 'attention-decode-subgroups' : 'attention-decode', source: source(options.subgroups) };
    kernels.set(options.subgroups, kernel);
  }
  return kernel;
}

/** Splits per (row, head) in the partials buffer. */
export function attentionDecodeSplits(maxContext: number): number {
  return Math.ceil(maxContext / ATTENTION_DECODE_CHUNK);
}

/** Bytes of the scratch partials buffer `recordAttentionDecode` needs for `rows` decode rows. */
export function attentionDecodePartialsBytes(rows: number, heads: number, headDim: number, maxContext: number): number {
  return rows * heads * attentionDecodeSplits(maxContext) * (headDim + 2) * 4;
}

export interface AttentionDecodeJob {
  /** f32 [firstRow + rows, heads, headDim]. */
  readonly q: BufferBinding;
  /** This layer's K cache, f32 [maxBatch, maxContext, kvHeads, headDim]. */
  readonly keys: BufferBinding;
  /** This layer's V cache, same layout. */
  readonly values: BufferBinding;
  /** u32 (slot, position) per row, from row 0 of the batch. */
  readonly rowInfo: BufferBinding;
  /** f32 [firstRow + rows, heads, headDim]; rows firstRow.. are written. */
  readonly out: BufferBinding;
  /** Scratch of at least `attentionDecodePartialsBytes(rows, heads, headDim, maxContext)` bytes. */
  readonly partials: BufferBinding;
  readonly rows: number;
  /** The first decode row in q, out and rowInfo (default 0). */
  readonly firstRow?: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly maxContext: number;
  /** An upper bound on the rows' positions, if known, to launch fewer splits (default maxContext − 1). */
  readonly maxPosition?: number;
}

function checkAttentionShape(name: string, heads: number, kvHeads: number, headDim: number, maxHeadDim: number): void {
  if (!(kvHeads > 0 && heads % kvHeads === 0)) throw new Error(`${name}: heads ${heads} is not a multiple of kvHeads ${kvHeads}`);
  if (!(headDim % 4 === 0 && headDim > 0 && headDim <= maxHeadDim && 1024 % headDim === 0)) {
    throw new Error(`${name}: headDim ${headDim} must be a multiple of 4 dividing 1024, at most ${maxHeadDim}`);
  }
}

/** Records both flash-decoding passes: the split partials into `job.partials`, then their reduction into `job.out`. */
export function recordAttentionDecode(runner: KernelRunner, features: Pick<GpuFeatures, 'subgroups'>, job: AttentionDecodeJob): void {
  const { rows, heads, kvHeads, headDim, maxContext } = job;
  checkAttentionShape('attention-decode', heads, kvHeads, headDim, 256);
  if (rows === 0) return;
  const firstRow = job.firstRow ?? 0;
  const splits = attentionDecodeSplits(maxContext);
  const launched = Math.min(splits, Math.floor((job.maxPosition ?? maxContext - 1) / ATTENTION_DECODE_CHUNK) + 1);
  if (rows > 65535 || heads > 65535) throw new Error('attention-decode: rows and heads must each be at most 65535');
  runner.dispatch(attentionDecodeKernel(features), {
    buffers: [job.q, job.keys, job.values, job.rowInfo, job.partials],
    params: params(firstRow, heads, kvHeads, headDim, maxContext, splits, { f32: 1 / Math.sqrt(headDim) }),
    workgroups: [launched, heads, rows],
  });
  recordAttentionDecodeReduce(runner, features, { partials: job.partials, rowInfo: job.rowInfo, out: job.out, rows, firstRow, heads, headDim, splits });
}
