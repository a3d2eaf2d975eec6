/**
 * RMSNorm over rows, as Qwen3 uses it: out[r, i] = x[r, i] / √(mean_i x[r, i]² + eps) · weight[i].
 *
 * Layout: x and out f32 row-major [rows, size] (separate buffers: one buffer may not be bound both read and
 * read_write), weight f32 [size]. Launch: one workgroup of 256 invocations per row, grid [rows]; each invocation
 * sums the squares of a strided share of the row (size / 256 values), the workgroup adds the partial sums in f32
 * (subgroupAdd then a pass over the per-subgroup sums, or a shared-memory tree without subgroups), then each
 * invocation scales its share. Any size works (9728 is 38 values per invocation).
 *
 * Also home of the workgroup sum helper the fused q/k norm kernel reuses.
 */
import type { GpuFeatures } from '../gpu/gpu-context.js';
import { type KernelRunner, type KernelSpec, params } from '../gpu/kernel-runner.js';

/** The subgroup builtins an entry point declares when `subgroups` is on (else nothing). */
export function subgroupBuiltins(subgroups: boolean): string {
  return subgroups ? ', @builtin(subgroup_size) sg_size: u32, @builtin(subgroup_invocation_id) sg_lane: u32' : '';
}

/** The arguments an entry point passes to the workgroup reductions: its subgroup builtins, or zeros. */
export function subgroupArgs(subgroups: boolean): string {
  return subgroups ? 'sg_size, sg_lane' : '0u, 0u';
}

/**
 * WGSL `fn workgroup_sum(value: f32, lid: u32, sg_size: u32, sg_lane: u32) -> f32`: the sum of `value` over a
 * workgroup of `size` invocations (a power of two), returned to every invocation. Every invocation must call it
 * in uniform control flow. With subgroups, subgroup k is taken to be invocations [k·sg_size, (k+1)·sg_size) of a
 * one-dimensional workgroup (how Vulkan, Metal and D3D lay out subgroups); the per-subgroup sums are then added
 * in a fixed order by every invocation, so all get the same bits. Needs `enable subgroups;` when `subgroups`.
 */
export function workgroupSumWgsl(size: number, subgroups: boolean): string {
  if (subgroups) {
    return /* wgsl */ `
var<workgroup> sum_partials: array<f32, ${Math.max(1, size / 4)}>;
fn workgroup_sum(value: f32, lid: u32, sg_size: u32, sg_lane: u32) -> f32 {
  let partial = subgroupAdd(value);
  workgroupBarrier();
  if (sg_lane == 0u) { sum_partials[lid / sg_size] = partial; }
  workgroupBarrier();
  let count = (${size}u + sg_size - 1u) / sg_size;
  var total = 0.0;
  for (var i = 0u; i < count; i++) { total += sum_partials[i]; }
  return total;
}
`;
  }
  return /* wgsl */ `
var<workgroup> sum_scratch: array<f32, ${size}>;
fn workgroup_sum(value: f32, lid: u32, sg_size: u32, sg_lane: u32) -> f32 {
  workgroupBarrier();
  sum_scratch[lid] = value;
  workgroupBarrier();
  for (var stride = ${size / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { sum_scratch[lid] += sum_scratch[lid + stride]; }
    workgroupBarrier();
  }
  return sum_scratch[0];
}
`;
}

const WORKGROUP = 256;

function source(subgroups: boolean): string {
  return /* wgsl */ `${subgroups ? 'enable subgroups;' : ''}
struct Params { rows: u32, size: u32, eps: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${workgroupSumWgsl(WORKGROUP, subgroups)}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) lid: u32${subgroupBuiltins(subgroups)}) {
  let base = wg.x * p.size;
  var squares = 0.0;
  for (var i = lid; i < p.size; i += ${WORKGROUP}u) {
    let value = x[base + i];
    squares += value * value;
  }
  let total = workgroup_sum(squares, lid, ${subgroupArgs(subgroups)});
  let inverse_rms = 1.0 / sqrt(total / f32(p.size) + p.eps);
  for (var i = lid; i < p.size; i += ${WORKGROUP}u) {
    out[base + i] = x[base + i] * inverse_rms * weight[i];
  }
}
`;
}

const SPECS = new Map<boolean, KernelSpec>();

export function rmsNormKernel(options: { readonly subgroups: boolean }): KernelSpec {
  let spec = SPECS.get(options.subgroups);
  if (!spec) {
    spec = { name: 'rms-norm', source: source(options.subgroups) };
    SPECS.set(options.subgroups, spec);
  }
  return spec;
}

export interface RmsNormJob {
  /** f32 [rows, size]. */
  readonly x: GPUBuffer;
  /** f32 [size]. */
  readonly weight: GPUBuffer;
  /** f32 [rows, size]; not `x`. */
  readonly out: GPUBuffer;
  readonly rows: number;
  readonly size: number;
  readonly eps: number;
}

export function recordRmsNorm(runner: KernelRunner, features: Pick<GpuFeatures, 'subgroups'>, job: RmsNormJob): void {
  if (job.rows === 0) return;
  if (job.rows > runner.context.limits.maxComputeWorkgroupsPerDimension) throw new RangeError(`rms-norm: ${job.rows} rows is over the grid limit`);
  if (job.x === job.out) throw new Error('rms-norm: x and out must be different buffers');
  runner.dispatch(rmsNormKernel(features), {
    buffers: [job.x, job.weight, job.out],
    params: params(job.rows, job.size, { f32: job.eps }),
    workgroups: [job.rows],
  });
}
