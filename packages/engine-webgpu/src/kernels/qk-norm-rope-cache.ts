/**
 * Fused per-head q/k RMSNorm, rotary embedding and KV-cache append, for one layer and a batch of rows:
 *   q[r, h, :] ← RoPE(RMSNorm(q[r, h, :]; qNormWeight))   for h < heads
 *   k[r, h, :] ← RoPE(RMSNorm(k[r, h, :]; kNormWeight))   for h < kvHeads
 *   K[slot, position, h, :] = k[r, h, :] (normed and roped), V[slot, position, h, :] = v[r, h, :] (raw)
 * with (slot, position) = rowInfo[2r], rowInfo[2r + 1]. RMSNorm as rms-norm.ts (eps inside the root). RoPE is
 * rotate-half (NeoX): for j < d/2 with (c, s) = table[position, j], a = x[j], b = x[j + d/2]:
 *   x[j] = a·c − b·s,  x[j + d/2] = b·c + a·s
 * where the table already carries the YaRN attention factor.
 *
 * Layout: q f32 [rows, heads, headDim]; k, v f32 [rows, kvHeads, headDim]; rowInfo u32 [rows, 2]; table f32
 * [maxContext, headDim/2, 2] (cos, sin); qkNorm f32 [2, headDim] (the q norm's weights, then the k norm's: one
 * binding, so the kernel stays within WebGPU's default of 8 storage buffers per stage); K and V caches f32
 * [maxBatch, maxContext, kvHeads, headDim]. q and k are updated in place. Rows whose slot or position is out of
 * range write no cache cell.
 *
 * Launch: one workgroup of 128 invocations per (head, row), grid [heads + kvHeads, rows]; invocation j < d/2
 * owns the pair (j, j + d/2), so headDim ≤ 256 and even.
 */
import type { GpuFeatures } from '../gpu/gpu-context.js';
import { type KernelRunner, type KernelSpec, params } from '../gpu/kernel-runner.js';
import { subgroupArgs, subgroupBuiltins, workgroupSumWgsl } from './rms-norm.js';

const WORKGROUP = 128;

function source(subgroups: boolean): string {
  return /* wgsl */ `${subgroups ? 'enable subgroups;' : ''}
struct Params { rows: u32, heads: u32, kv_heads: u32, head_dim: u32, max_batch: u32, max_context: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> q: array<f32>;
@group(0) @binding(2) var<storage, read_write> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> row_info: array<u32>;
@group(0) @binding(5) var<storage, read> rope: array<f32>;
@group(0) @binding(6) var<storage, read> qk_norm: array<f32>;
@group(0) @binding(7) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(8) var<storage, read_write> v_cache: array<f32>;
${workgroupSumWgsl(WORKGROUP, subgroups)}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32${subgroupBuiltins(subgroups)}) {
  let row = wg.y;
  let is_q = wg.x < p.heads;
  let head = select(wg.x - p.heads, wg.x, is_q);
  let half = p.head_dim / 2u;
  let base = select((row * p.kv_heads + head) * p.head_dim, (row * p.heads + head) * p.head_dim, is_q);
  let owns_pair = lid < half;
  var a = 0.0;
  var b = 0.0;
  if (owns_pair) {
    if (is_q) {
      a = q[base + lid];
      b = q[base + lid + half];
    } else {
      a = k[base + lid];
      b = k[base + lid + half];
    }
  }
  let total = workgroup_sum(a * a + b * b, lid, ${subgroupArgs(subgroups)});
  if (!owns_pair) { return; }
  let inverse_rms = 1.0 / sqrt(total / f32(p.head_dim) + p.eps);
  let slot = row_info[2u * row];
  let position = row_info[2u * row + 1u];
  let angle = 2u * (position * half + lid);
  let c = rope[angle];
  let s = rope[angle + 1u];
  if (is_q) {
    let na = a * inverse_rms * qk_norm[lid];
    let nb = b * inverse_rms * qk_norm[lid + half];
    q[base + lid] = na * c - nb * s;
    q[base + lid + half] = nb * c + na * s;
  } else {
    let na = a * inverse_rms * qk_norm[p.head_dim + lid];
    let nb = b * inverse_rms * qk_norm[p.head_dim + lid + half];
    let ra = na * c - nb * s;
    let rb = nb * c + na * s;
    k[base + lid] = ra;
    k[base + lid + half] = rb;
    if (slot < p.max_batch && position < p.max_context) {
      let cell = ((slot * p.max_context + position) * p.kv_heads + head) * p.head_dim;
      k_cache[cell + lid] = ra;
      k_cache[cell + lid + half] = rb;
      v_cache[cell + lid] = v[base + lid];
      v_cache[cell + lid + half] = v[base + lid + half];
    }
  }
}
`;
}

const SPECS = new Map<boolean, KernelSpec>();

export function qkNormRopeCacheKernel(options: { readonly subgroups: boolean }): KernelSpec {
  let spec = SPECS.get(options.subgroups);
  if (!spec) {
    spec = { name: 'qk-norm-rope-cache', source: source(options.subgroups) };
    SPECS.set(options.subgroups, spec);
  }
  return spec;
}

export interface QkNormRopeCacheJob {
  /** f32 [rows, heads, headDim], normed and roped in place. */
  readonly q: GPUBuffer;
  /** f32 [rows, kvHeads, headDim], normed and roped in place. */
  readonly k: GPUBuffer;
  /** f32 [rows, kvHeads, headDim], read. */
  readonly v: GPUBuffer;
  /** u32 [rows, 2]: (sequence slot, position). */
  readonly rowInfo: GPUBuffer;
  /** f32 [maxContext, headDim / 2, 2]: (cos, sin) · attention factor. */
  readonly ropeTable: GPUBuffer;
  /** f32 [2, headDim]: the q norm's weights, then the k norm's. */
  readonly qkNormWeights: GPUBuffer;
  /** f32 [maxBatch, maxContext, kvHeads, headDim]. */
  readonly kCache: GPUBuffer;
  readonly vCache: GPUBuffer;
  readonly rows: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly maxBatch: number;
  readonly maxContext: number;
  readonly eps: number;
}

export function recordQkNormRopeCache(runner: KernelRunner, features: Pick<GpuFeatures, 'subgroups'>, job: QkNormRopeCacheJob): void {
  if (job.rows === 0) return;
  if (job.headDim % 2 !== 0 || job.headDim > 2 * WORKGROUP) throw new RangeError(`qk-norm-rope-cache: headDim ${job.headDim} must be even and ≤ ${2 * WORKGROUP}`);
  const limit = runner.context.limits.maxComputeWorkgroupsPerDimension;
  if (job.rows > limit || job.heads + job.kvHeads > limit) throw new RangeError('qk-norm-rope-cache: grid over the limit');
  runner.dispatch(qkNormRopeCacheKernel(features), {
    buffers: [job.q, job.k, job.v, job.rowInfo, job.ropeTable, job.qkNormWeights, job.kCache, job.vCache],
    params: params(job.rows, job.heads, job.kvHeads, job.headDim, job.maxBatch, job.maxContext, { f32: job.eps }),
    workgroups: [job.heads + job.kvHeads, job.rows],
  });
}
