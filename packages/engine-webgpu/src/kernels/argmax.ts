/**
 * Greedy sampling: per row of logits, the index of the largest value (the lowest index among equal maxima;
 * −0 equals +0; NaN ranks below −∞, so it never wins unless the whole row is NaN, which returns index 0).
 *
 * Layout: logits f32 [rows, vocab] (bound as array<u32>: values are compared through an order-preserving u32
 * key of their bits); scratch u32 [rows, blocks, 2] of (key, index) pairs; out u32 [rows].
 * Launch: two dispatches of the same kernel, 256 invocations per workgroup.
 *   stage 0: grid [blocks, rows], blocks = ⌈vocab / 4096⌉; workgroup b reduces logits [4096·b, 4096·(b + 1)) of its
 *            row (16 strided values per invocation) to one pair.
 *   stage 1: grid [1, rows]; one workgroup reduces the row's `blocks` pairs and writes the index.
 * Only 4 bytes per row need to come back. Also exports the (key, index) workgroup reduction top-k.ts uses.
 */
import type { GpuFeatures } from '../gpu/gpu-context.js';
import { type KernelRunner, type KernelSpec, params } from '../gpu/kernel-runner.js';
import { subgroupArgs, subgroupBuiltins } from './rms-norm.js';

/**
 * WGSL helpers for (key, index) maxima, ordered by key descending then index ascending:
 * - `order_key(bits)`: a u32 that orders f32 bit patterns as their values (−0 as +0), NaN lowest (0).
 * - `better(a, b)`: whether pair a ranks above pair b.
 * - `workgroup_best(key, index, lid, sg_size, sg_lane) -> vec2u`: the best pair of a workgroup of `size`
 *   invocations, returned to all; call in uniform control flow. An invocation with nothing to offer passes
 *   (0, 0xffffffff), which ranks below every real pair (a NaN has key 0 but a real index).
 */
export function workgroupBestWgsl(size: number, subgroups: boolean): string {
  const common = /* wgsl */ `
fn order_key(bits: u32) -> u32 {
  if ((bits & 0x7fffffffu) > 0x7f800000u) { return 0u; }
  let b = select(bits, 0u, bits == 0x80000000u);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn better(a: vec2u, b: vec2u) -> bool {
  return a.x > b.x || (a.x == b.x && a.y < b.y);
}
`;
  if (subgroups) {
    return /* wgsl */ `${common}
var<workgroup> best_partials: array<vec2u, ${Math.max(1, size / 4)}>;
fn workgroup_best(key: u32, index: u32, lid: u32, sg_size: u32, sg_lane: u32) -> vec2u {
  let top = subgroupMax(key);
  let lowest = subgroupMin(select(0xffffffffu, index, key == top));
  workgroupBarrier();
  if (sg_lane == 0u) { best_partials[lid / sg_size] = vec2u(top, lowest); }
  workgroupBarrier();
  let count = (${size}u + sg_size - 1u) / sg_size;
  var best = best_partials[0];
  for (var i = 1u; i < count; i++) {
    let candidate = best_partials[i];
    if (better(candidate, best)) { best = candidate; }
  }
  return best;
}
`;
  }
  return /* wgsl */ `${common}
var<workgroup> best_scratch: array<vec2u, ${size}>;
fn workgroup_best(key: u32, index: u32, lid: u32, sg_size: u32, sg_lane: u32) -> vec2u {
  workgroupBarrier();
  best_scratch[lid] = vec2u(key, index);
  workgroupBarrier();
  for (var stride = ${size / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride && better(best_scratch[lid + stride], best_scratch[lid])) { best_scratch[lid] = best_scratch[lid + stride]; }
    workgroupBarrier();
  }
  return best_scratch[0];
}
`;
}

const WORKGROUP = 256;
const BLOCK = 4096;

function source(subgroups: boolean): string {
  return /* wgsl */ `${subgroups ? 'enable subgroups;' : ''}
struct Params { rows: u32, vocab: u32, blocks: u32, stage: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> input: array<u32>;
@group(0) @binding(2) var<storage, read_write> output: array<u32>;
${workgroupBestWgsl(WORKGROUP, subgroups)}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32${subgroupBuiltins(subgroups)}) {
  let row = wg.y;
  var best = vec2u(0u, 0xffffffffu);
  if (p.stage == 0u) {
    let start = wg.x * ${BLOCK}u;
    let end = min(p.vocab, start + ${BLOCK}u);
    for (var i = start + lid; i < end; i += ${WORKGROUP}u) {
      let candidate = vec2u(order_key(input[row * p.vocab + i]), i);
      if (better(candidate, best)) { best = candidate; }
    }
    let winner = workgroup_best(best.x, best.y, lid, ${subgroupArgs(subgroups)});
    if (lid == 0u) {
      let slot = 2u * (row * p.blocks + wg.x);
      output[slot] = winner.x;
      output[slot + 1u] = winner.y;
    }
  } else {
    for (var b = lid; b < p.blocks; b += ${WORKGROUP}u) {
      let slot = 2u * (row * p.blocks + b);
      let candidate = vec2u(input[slot], input[slot + 1u]);
      if (better(candidate, best)) { best = candidate; }
    }
    let winner = workgroup_best(best.x, best.y, lid, ${subgroupArgs(subgroups)});
    if (lid == 0u) { output[row] = winner.y; }
  }
}
`;
}

const SPECS = new Map<boolean, KernelSpec>();

export function argmaxKernel(options: { readonly subgroups: boolean }): KernelSpec {
  let spec = SPECS.get(options.subgroups);
  if (!spec) {
    spec = { name: 'argmax', source: source(options.subgroups) };
    SPECS.set(options.subgroups, spec);
  }
  return spec;
}

/** Bytes of the scratch buffer `recordArgmax` needs for `rows` rows of `vocab` logits. */
export function argmaxScratchBytes(rows: number, vocab: number): number {
  return rows * Math.ceil(vocab / BLOCK) * 8;
}

export interface ArgmaxJob {
  /** f32 [rows, vocab]. */
  readonly logits: GPUBuffer;
  /** At least `argmaxScratchBytes(rows, vocab)` bytes. */
  readonly scratch: GPUBuffer;
  /** u32 [rows]. */
  readonly out: GPUBuffer;
  readonly rows: number;
  readonly vocab: number;
}

export function recordArgmax(runner: KernelRunner, features: Pick<GpuFeatures, 'subgroups'>, job: ArgmaxJob): void {
  if (job.rows === 0) return;
  if (job.vocab === 0) throw new RangeError('argmax: empty rows');
  const blocks = Math.ceil(job.vocab / BLOCK);
  const limit = runner.context.limits.maxComputeWorkgroupsPerDimension;
  if (job.rows > limit || blocks > limit) throw new RangeError('argmax: grid over the limit');
  const kernel = argmaxKernel(features);
  runner.dispatch(kernel, { buffers: [job.logits, job.scratch], params: params(job.rows, job.vocab, blocks, 0), workgroups: [blocks, job.rows] });
  runner.dispatch(kernel, { buffers: [job.scratch, job.out], params: params(job.rows, job.vocab, blocks, 1), workgroups: [1, job.rows] });
}
