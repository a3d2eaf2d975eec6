/**
 * Per row of logits, the k largest (value, index) pairs (k ≤ 64), sorted by value descending, equal values by
 * lower index first; −0 equals +0 and NaN ranks below −∞ (a NaN appears only when a row has fewer than k
 * non-NaN values). Values come back bit-exact.
 *
 * Layout: logits f32 [rows, vocab]; out values f32 [rows, k] and indices u32 [rows, k] (all bound as
 * array<u32>). Launch: a chain of dispatches of one kernel, 256 invocations per workgroup, each workgroup
 * selecting the top k of a block of 4096 candidates of its row (16 per invocation, held in registers) by k
 * rounds of a workgroup (key, index) maximum; the winning invocation writes the pair and drops it.
 *   level 0: grid [b₀, rows], b₀ = ⌈vocab / 4096⌉, candidates are the logits with their positions as indices;
 *   level n: grid [bₙ, rows] over the previous level's bₙ₋₁·k pairs, bₙ = ⌈bₙ₋₁·k / 4096⌉,
 * until one block remains, whose output is the result (vocab 151,936: 38 blocks, then one merge of 2,432 pairs).
 * Intermediate levels ping-pong through scratch buffers: `topKScratch` says how many and how large.
 */
import type { GpuFeatures } from '../gpu/gpu-context.js';
import { type BufferBinding, type KernelRunner, type KernelSpec, params } from '../gpu/kernel-runner.js';
import { workgroupBestWgsl } from './wgsl/workgroup-best.js';
import { subgroupArgs, subgroupBuiltins } from './rms-norm.js';

const WORKGROUP = 256;
const ITEMS = 16;
const BLOCK = WORKGROUP * ITEMS;
export const TOP_K_MAX = 64;

function source(subgroups: boolean): string {
  return /* wgsl */ `${subgroups ? 'enable subgroups;' : ''}
struct Params { rows: u32, count: u32, k: u32, blocks: u32, positions_are_indices: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> in_values: array<u32>;
@group(0) @binding(2) var<storage, read> in_indices: array<u32>;
@group(0) @binding(3) var<storage, read_write> out_values: array<u32>;
@group(0) @binding(4) var<storage, read_write> out_indices: array<u32>;
${workgroupBestWgsl(WORKGROUP, subgroups)}
const NONE = vec2u(0u, 0xffffffffu);

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32${subgroupBuiltins(subgroups)}) {
  let row = wg.y;
  let start = wg.x * ${BLOCK}u;
  var keys: array<vec2u, ${ITEMS}>;
  var bits: array<u32, ${ITEMS}>;
  for (var j = 0u; j < ${ITEMS}u; j++) {
    let position = start + j * ${WORKGROUP}u + lid;
    keys[j] = NONE;
    bits[j] = 0x7fc00000u;
    if (position < p.count) {
      let at = row * p.count + position;
      bits[j] = in_values[at];
      keys[j] = vec2u(order_key(bits[j]), select(in_indices[at], position, p.positions_are_indices != 0u));
    }
  }
  var mine = 0u;
  for (var j = 1u; j < ${ITEMS}u; j++) {
    if (better(keys[j], keys[mine])) { mine = j; }
  }
  let out_base = (row * p.blocks + wg.x) * p.k;
  for (var round = 0u; round < p.k; round++) {
    let winner = workgroup_best(keys[mine].x, keys[mine].y, lid, ${subgroupArgs(subgroups)});
    if (winner.y == 0xffffffffu) {
      if (lid == 0u) {
        out_values[out_base + round] = 0x7fc00000u;
        out_indices[out_base + round] = 0xffffffffu;
      }
    } else if (all(keys[mine] == winner)) {
      out_values[out_base + round] = bits[mine];
      out_indices[out_base + round] = winner.y;
      keys[mine] = NONE;
      for (var j = 0u; j < ${ITEMS}u; j++) {
        if (better(keys[j], keys[mine])) { mine = j; }
      }
    }
  }
}
`;
}

const SPECS = new Map<boolean, KernelSpec>();

export function topKKernel(options: { readonly subgroups: boolean }): KernelSpec {
  let spec = SPECS.get(options.subgroups);
  if (!spec) {
    spec = { name: 'top-k', source: source(options.subgroups) };
    SPECS.set(options.subgroups, spec);
  }
  return spec;
}

/** Blocks per row at each level, the last being 1. */
function levels(vocab: number, k: number): number[] {
  const blocks = [Math.ceil(vocab / BLOCK)];
  while (blocks[blocks.length - 1]! > 1) blocks.push(Math.ceil((blocks[blocks.length - 1]! * k) / BLOCK));
  return blocks;
}

/**
 * The scratch `recordTopK` needs: `buffers` storage buffers (0, 2 or 4: values and indices of up to two
 * ping-pong levels) of `bytes` bytes each.
 */
export function topKScratch(rows: number, vocab: number, k: number): { readonly buffers: number; readonly bytes: number } {
  const blocks = levels(vocab, k);
  const intermediate = blocks.length - 1;
  return { buffers: 2 * Math.min(2, intermediate), bytes: intermediate === 0 ? 0 : rows * blocks[0]! * k * 4 };
}

export interface TopKJob {
  /** f32 [rows, vocab]. */
  readonly logits: GPUBuffer;
  /** f32 [rows, k]. */
  readonly values: GPUBuffer;
  /** u32 [rows, k]. */
  readonly indices: GPUBuffer;
  /** As `topKScratch` says: values A, indices A, values B, indices B. */
  readonly scratch: readonly GPUBuffer[];
  readonly rows: number;
  readonly vocab: number;
  /** 1 … 64, at most vocab. */
  readonly k: number;
}

export function recordTopK(runner: KernelRunner, features: Pick<GpuFeatures, 'subgroups'>, job: TopKJob): void {
  if (job.rows === 0) return;
  const { k, rows } = job;
  if (!Number.isInteger(k) || k < 1 || k > TOP_K_MAX || k > job.vocab) throw new RangeError(`top-k: k = ${k} must be 1 … ${Math.min(TOP_K_MAX, job.vocab)}`);
  const blocks = levels(job.vocab, k);
  const limit = runner.context.limits.maxComputeWorkgroupsPerDimension;
  if (rows > limit || blocks[0]! > limit) throw new RangeError('top-k: grid over the limit');
  const needed = topKScratch(rows, job.vocab, k);
  if (job.scratch.length < needed.buffers) throw new Error(`top-k: needs ${needed.buffers} scratch buffers, got ${job.scratch.length}`);
  const kernel = topKKernel(features);
  let inValues: BufferBinding = job.logits;
  let inIndices: BufferBinding = job.logits;
  let count = job.vocab;
  blocks.forEach((levelBlocks, level) => {
    const last = level === blocks.length - 1;
    const pair = (level % 2) * 2;
    const outValues = last ? job.values : job.scratch[pair]!;
    const outIndices = last ? job.indices : job.scratch[pair + 1]!;
    runner.dispatch(kernel, {
      buffers: [inValues, inIndices, outValues, outIndices],
      params: params(rows, count, k, levelBlocks, level === 0 ? 1 : 0),
      workgroups: [levelBlocks, rows],
    });
    inValues = outValues;
    inIndices = outIndices;
    count = levelBlocks * k;
  });
}
