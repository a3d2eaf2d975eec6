/**
 * Flash-decoding, pass 2 of 2: combines the per-split partial softmax states written by `attention-decode` into
 * the attention output, with log-sum-exp rescaling over the row's n = ⌊position / CHUNK⌋ + 1 splits:
 *   M = max_s m_s,  L = Σ_s l_s · exp(m_s − M),  out[d] = Σ_s acc_s[d] · exp(m_s − M) / L.
 *
 * Layouts: partials f32 [rows, heads, splits, headDim + 2] (acc[0..headDim), m, l per entry; entries of splits
 * past the row's position are never written and never read); rowInfo u32 (slot, position) per row from row 0 of
 * the batch; out f32 [firstRow + rows, heads, headDim].
 *
 * Launch: workgroup_size 64, grid (heads, rows); invocation i handles dimensions i, i + 64, ... . No subgroup
 * operations; the `subgroups` option only keeps the kernel interface uniform.
 */
import type { GpuFeatures } from '../gpu/gpu-context.js';
import { type BufferBinding, type KernelRunner, type KernelSpec, params } from '../gpu/kernel-runner.js';

/** Positions per split of flash-decoding (one `attention-decode` workgroup each); re-exported there. */
export const ATTENTION_DECODE_CHUNK = 256;

const WORKGROUP = 64;

function source(): string {
  return /* wgsl */ `
struct Params {
  first_row: u32,
  heads: u32,
  head_dim: u32,
  splits: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read> row_info: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let head = wid.x;
  let row = wid.y;
  let position = row_info[2u * (p.first_row + row) + 1u];
  let n = position / ${ATTENTION_DECODE_CHUNK}u + 1u;
  let entry = p.head_dim + 2u;
  let base = (row * p.heads + head) * p.splits * entry;

  var big_m = partials[base + p.head_dim];
  for (var s = 1u; s < n; s++) { big_m = max(big_m, partials[base + s * entry + p.head_dim]); }
  var big_l = 0.0;
  for (var s = 0u; s < n; s++) {
    big_l += partials[base + s * entry + p.head_dim + 1u] * exp(partials[base + s * entry + p.head_dim] - big_m);
  }
  let inv_l = 1.0 / big_l;

  let out_base = ((p.first_row + row) * p.heads + head) * p.head_dim;
  for (var d = lid; d < p.head_dim; d += ${WORKGROUP}u) {
    var acc = 0.0;
    for (var s = 0u; s < n; s++) {
      acc += partials[base + s * entry + d] * exp(partials[base + s * entry + p.head_dim] - big_m);
    }
    out[out_base + d] = acc * inv_l;
  }
}
`;
}

let kernel: KernelSpec | null = null;

/** Pass 2 of flash-decoding (see the header). */
export function attentionDecodeReduceKernel(_options: { subgroups: boolean }): KernelSpec {
  kernel ??= { name: 'attention-decode-reduce', source: source() };
  return kernel;
}

export interface AttentionDecodeReduceJob {
  /** What `attention-decode` wrote: f32 [rows, heads, splits, headDim + 2]. */
  readonly partials: BufferBinding;
  readonly rowInfo: BufferBinding;
  readonly out: BufferBinding;
  readonly rows: number;
  readonly firstRow?: number;
  readonly heads: number;
  readonly headDim: number;
  /** Splits per (row, head) in `partials`: ⌈maxContext / CHUNK⌉. */
  readonly splits: number;
}

/** Records pass 2 alone (`recordAttentionDecode` records both passes). */
export function recordAttentionDecodeReduce(runner: KernelRunner, features: Pick<GpuFeatures, 'subgroups'>, job: AttentionDecodeReduceJob): void {
  if (job.rows === 0) return;
  runner.dispatch(attentionDecodeReduceKernel(features), {
    buffers: [job.partials, job.rowInfo, job.out],
    params: params(job.firstRow ?? 0, job.heads, job.headDim, job.splits),
    workgroups: [job.heads, job.rows],
  });
}
