/**
 * Residual add in place: x[i] += y[i] for i < count.
 *
 * Layout: x, y f32 [count] (any shape, flat). Launch: 256 invocations per workgroup, a grid-stride loop over
 * min(⌈count / 256⌉, maxComputeWorkgroupsPerDimension) workgroups, so any count fits one 1-D dispatch.
 * Also exports the grid helper the other element-wise kernels use.
 */
import type { GpuFeatures } from '../gpu/gpu-context.js';
import { type KernelRunner, type KernelSpec, params } from '../gpu/kernel-runner.js';

const WORKGROUP = 256;

/** Workgroups for a grid-stride loop over `count` elements, 256 per workgroup. */
export function gridStrideWorkgroups(runner: KernelRunner, count: number): number {
  return Math.min(Math.ceil(count / WORKGROUP), runner.context.limits.maxComputeWorkgroupsPerDimension);
}

const SPEC: KernelSpec = {
  name: 'residual-add',
  source: /* wgsl */ `
struct Params { count: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let stride = groups.x * ${WORKGROUP}u;
  for (var i = id.x; i < p.count; i += stride) {
    x[i] = x[i] + y[i];
  }
}
`,
};

export function residualAddKernel(): KernelSpec {
  return SPEC;
}

export interface ResidualAddJob {
  /** f32 [count], updated in place. */
  readonly x: GPUBuffer;
  /** f32 [count]; not `x`. */
  readonly y: GPUBuffer;
  readonly count: number;
}

export function recordResidualAdd(runner: KernelRunner, _features: Pick<GpuFeatures, 'subgroups'>, job: ResidualAddJob): void {
  if (job.count === 0) return;
  runner.dispatch(SPEC, { buffers: [job.x, job.y], params: params(job.count), workgroups: [gridStrideWorkgroups(runner, job.count)] });
}
