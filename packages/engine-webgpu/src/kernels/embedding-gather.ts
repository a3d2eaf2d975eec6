/**
 * Token embedding lookup from one chunk of a BF16 table: out[r, :] = float32(table[tokens[r] − rowStart, :]) for
 * every row whose token lies in [rowStart, rowStart + tableRows); other rows are left untouched, so an embedding
 * split over several buffers (the Qwen3 table is 778 MB) is gathered by one dispatch per chunk into the same out.
 *
 * Layout: tokens u32 [rows]; table BF16 [tableRows, hidden] as raw little-endian bytes bound as array<u32>
 * (element e in the low half of word e/2 when e is even); out f32 [rows, hidden].
 * Launch: 256 invocations per workgroup, one per output element, grid [⌈hidden / 256⌉, rows].
 */
import type { GpuFeatures } from '../gpu/gpu-context.js';
import { type KernelRunner, type KernelSpec, params } from '../gpu/kernel-runner.js';
import { FORMATS_WGSL } from './wgsl/formats.js';

const WORKGROUP = 256;

const SPEC: KernelSpec = {
  name: 'embedding-gather',
  source: /* wgsl */ `${FORMATS_WGSL}
struct Params { rows: u32, hidden: u32, row_start: u32, table_rows: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> tokens: array<u32>;
@group(0) @binding(2) var<storage, read> table: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) id: vec3u) {
  let row = id.y;
  let i = id.x;
  if (row >= p.rows || i >= p.hidden) { return; }
  let token = tokens[row];
  if (token < p.row_start || token - p.row_start >= p.table_rows) { return; }
  let element = (token - p.row_start) * p.hidden + i;
  out[row * p.hidden + i] = bf16_at(table[element / 2u], element);
}
`,
};

export function embeddingGatherKernel(): KernelSpec {
  return SPEC;
}

export interface EmbeddingGatherJob {
  /** u32 [rows]. */
  readonly tokens: GPUBuffer;
  /** BF16 [tableRows, hidden], raw bytes (a whole buffer, or a range of one). */
  readonly table: GPUBuffer | { readonly buffer: GPUBuffer; readonly offset: number; readonly size: number };
  /** f32 [rows, hidden]. */
  readonly out: GPUBuffer;
  readonly rows: number;
  readonly hidden: number;
  /** The first token id this chunk holds. */
  readonly rowStart: number;
  readonly tableRows: number;
}

export function recordEmbeddingGather(runner: KernelRunner, _features: Pick<GpuFeatures, 'subgroups'>, job: EmbeddingGatherJob): void {
  if (job.rows === 0 || job.hidden === 0) return;
  const limit = runner.context.limits.maxComputeWorkgroupsPerDimension;
  const columns = Math.ceil(job.hidden / WORKGROUP);
  if (job.rows > limit || columns > limit) throw new RangeError('embedding-gather: grid over the limit');
  runner.dispatch(SPEC, {
    buffers: [job.tokens, job.table, job.out],
    params: params(job.rows, job.hidden, job.rowStart, job.tableRows),
    workgroups: [columns, job.rows],
  });
}
