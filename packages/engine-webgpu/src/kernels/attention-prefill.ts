/**
 * Tiled causal grouped-query attention for a prefill chunk: `rows` consecutive rows of ONE sequence at positions
 * p0, p0 + 1, ..., whose K and V are already in the cache (with everything before p0). Row r attends positions
 * 0..p0 + r: out = Σ_p softmax_p(q · K_p / √headDim) · V_p, query head h reading kv head g = ⌊h / (heads / kvHeads)⌋.
 *
 * Layouts (f32 unless said): q and out [firstRow + rows, heads, headDim] (the chunk's rows from `firstRow`); K and
 * V cache [maxBatch, maxContext, kvHeads, headDim], element ((slot·maxContext + p)·kvHeads + g)·headDim + d; rowInfo
 * u32 (slot, position) per row of the batch, of which only the chunk's first slot is read (positions come from p0).
 *
 * Launch: workgroup_size 256, grid (⌈rows / 16⌉, heads): a workgroup per (tile of 16 query rows, head), invocation
 * (qi, lane) = (⌊lid / 16⌋, lid mod 16). It loops over key tiles of 16 positions from 0 to the tile's last row's
 * position, each K and V tile staged in workgroup memory (keys past that position are not read); invocation
 * (qi, lane) scores key `lane` for query qi (masked where key position > query position, which only happens in
 * the tiles touching the diagonal), then per query row an online softmax — running max m and sum l, with the
 * previous output rescaled by exp(m_old − m_new) — while it accumulates vec4 slices lane, lane + 16 of the
 * output. Workgroup memory: 26 KB. headDim: a multiple of 4, at most 128. No subgroup operations.
 *
 * Numerics: f32 throughout; every exponential is max-subtracted (≤ 1).
 */
import type { GpuFeatures } from '../gpu/gpu-context.js';
import { type BufferBinding, type KernelRunner, type KernelSpec, params } from '../gpu/kernel-runner.js';

/** Query rows per workgroup (and key positions per staged tile). */
export const ATTENTION_PREFILL_TILE = 16;

const T = ATTENTION_PREFILL_TILE;
const MAX_HEAD_DIM = 128;

function source(): string {
  return /* wgsl */ `
struct Params {
  first_row: u32,
  rows: u32,
  p0: u32,
  heads: u32,
  kv_heads: u32,
  head_dim: u32,
  max_context: u32,
  scale: f32,
}

const T: u32 = ${T}u;
const NEG: f32 = -3.0e38;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4f>;
@group(0) @binding(2) var<storage, read> keys: array<vec4f>;
@group(0) @binding(3) var<storage, read> values: array<vec4f>;
@group(0) @binding(4) var<storage, read> row_info: array<u32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

var<workgroup> q_tile: array<vec4f, ${(T * MAX_HEAD_DIM) / 4}>;
var<workgroup> k_tile: array<vec4f, ${(T * MAX_HEAD_DIM) / 4}>;
var<workgroup> v_tile: array<vec4f, ${(T * MAX_HEAD_DIM) / 4}>;
var<workgroup> scores: array<f32, ${T * T}>;
var<workgroup> probs: array<f32, ${T * T}>;

@compute @workgroup_size(${T * T})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let row0 = wid.x * T;
  let head = wid.y;
  let qi = lid / T;
  let lane = lid % T;
  let d4 = p.head_dim / 4u;
  let g = head / (p.heads / p.kv_heads);
  let slot = row_info[2u * p.first_row];
  let last_key = p.p0 + min(row0 + T, p.rows) - 1u;
  let tiles = last_key / T + 1u;

  let r = row0 + qi;
  let valid = r < p.rows;
  let q_pos = p.p0 + r;

  for (var i = lid; i < T * d4; i += T * T) {
    let qr = row0 + i / d4;
    var v = vec4f(0.0);
    if (qr < p.rows) { v = q[((p.first_row + qr) * p.heads + head) * d4 + i % d4]; }
    q_tile[i] = v;
  }

  var m = NEG;
  var l = 0.0;
  var o: array<vec4f, ${MAX_HEAD_DIM / (4 * T)}>;
  // Invocation (qi, lane) owns vec4 slices lane, lane + T, ... of its row's output: d4 / T of them (or one, lane < d4).
  let slices = (d4 + T - 1u) / T;

  for (var t = 0u; t < tiles; t++) {
    let key0 = t * T;
    workgroupBarrier();
    for (var i = lid; i < T * d4; i += T * T) {
      let pos = key0 + i / d4;
      var k = vec4f(0.0);
      var v = vec4f(0.0);
      if (pos <= last_key) {
        let at = ((slot * p.max_context + pos) * p.kv_heads + g) * d4 + i % d4;
        k = keys[at];
        v = values[at];
      }
      k_tile[i] = k;
      v_tile[i] = v;
    }
    workgroupBarrier();

    let k_pos = key0 + lane;
    let live = valid && k_pos <= q_pos;
    var s = NEG;
    if (live) {
      var acc = vec4f(0.0);
      for (var i = 0u; i < d4; i++) { acc += q_tile[qi * d4 + i] * k_tile[lane * d4 + i]; }
      s = (acc.x + acc.y + acc.z + acc.w) * p.scale;
    }
    scores[lid] = s;
    workgroupBarrier();

    var tile_max = NEG;
    for (var j = 0u; j < T; j++) { tile_max = max(tile_max, scores[qi * T + j]); }
    let m_new = max(m, tile_max);
    let alpha = exp(m - m_new);
    var e = 0.0;
    if (live) { e = exp(s - m_new); }
    probs[lid] = e;
    workgroupBarrier();

    var tile_sum = 0.0;
    for (var j = 0u; j < T; j++) { tile_sum += probs[qi * T + j]; }
    l = l * alpha + tile_sum;
    for (var c = 0u; c < slices; c++) {
      let slice = lane + c * T;
      if (slice < d4) {
        var acc = o[c] * alpha;
        for (var j = 0u; j < T; j++) { acc += probs[qi * T + j] * v_tile[j * d4 + slice]; }
        o[c] = acc;
      }
    }
    m = m_new;
  }

  if (valid) {
    let out_base = ((p.first_row + r) * p.heads + head) * p.head_dim;
    let inv_l = 1.0 / l;
    for (var c = 0u; c < slices; c++) {
      let slice = lane + c * T;
      if (slice < d4) {
        let v = o[c] * inv_l;
        out[out_base + 4u * slice] = v.x;
        out[out_base + 4u * slice + 1u] = v.y;
        out[out_base + 4u * slice + 2u] = v.z;
        out[out_base + 4u * slice + 3u] = v.w;
      }
    }
  }
}
`;
}

let kernel: KernelSpec | null = null;

/** Tiled causal prefill attention (see the header); uses no subgroup operations, so `subgroups` changes nothing. */
export function attentionPrefillKernel(_options: { subgroups: boolean }): KernelSpec {
  kernel ??= { name: 'attention-prefill', source: source() };
  return kernel;
}

export interface AttentionPrefillJob {
  /** f32 [firstRow + rows, heads, headDim]. */
  readonly q: BufferBinding;
  /** This layer's K cache, f32 [maxBatch, maxContext, kvHeads, headDim], holding positions 0..p0 + rows − 1. */
  readonly keys: BufferBinding;
  /** This layer's V cache, same layout. */
  readonly values: BufferBinding;
  /** u32 (slot, position) per row of the batch; rowInfo[firstRow] names the chunk's slot. */
  readonly rowInfo: BufferBinding;
  /** f32 [firstRow + rows, heads, headDim]; rows firstRow.. are written. */
  readonly out: BufferBinding;
  readonly rows: number;
  /** The chunk's first row in q, out and rowInfo (default 0). */
  readonly firstRow?: number;
  /** The position of the chunk's first row. */
  readonly p0: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly maxContext: number;
}

/** Records the prefill attention of one sequence's chunk. */
export function recordAttentionPrefill(runner: KernelRunner, features: Pick<GpuFeatures, 'subgroups'>, job: AttentionPrefillJob): void {
  const { rows, p0, heads, kvHeads, headDim, maxContext } = job;
  if (!(kvHeads > 0 && heads % kvHeads === 0)) throw new Error(`attention-prefill: heads ${heads} is not a multiple of kvHeads ${kvHeads}`);
  if (!(headDim > 0 && headDim % 4 === 0 && headDim <= MAX_HEAD_DIM)) {
    throw new Error(`attention-prefill: headDim ${headDim} must be a multiple of 4, at most ${MAX_HEAD_DIM}`);
  }
  if (p0 + rows > maxContext) throw new Error(`attention-prefill: positions up to ${p0 + rows - 1} exceed maxContext ${maxContext}`);
  if (rows === 0) return;
  const tiles = Math.ceil(rows / T);
  if (tiles > 65535 || heads > 65535) throw new Error('attention-prefill: too many row tiles or heads for one dispatch');
  runner.dispatch(attentionPrefillKernel(features), {
    buffers: [job.q, job.keys, job.values, job.rowInfo, job.out],
    params: params(job.firstRow ?? 0, rows, p0, heads, kvHeads, headDim, maxContext, { f32: 1 / Math.sqrt(headDim) }),
    workgroups: [tiles, heads],
  });
}
