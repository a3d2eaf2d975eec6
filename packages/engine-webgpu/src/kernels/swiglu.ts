/**
 * The Qwen3 MLP activation: out[i] = silu(gate[i]) · up[i], silu(g) = g / (1 + e^(−g)), for i < count
 * (count = rows × intermediate). Evaluated as g · σ(g) with e = e^(−|g|) ∈ (0, 1], σ = 1/(1 + e) for g ≥ 0 and
 * e/(1 + e) below, so exp never overflows: very negative g gives e → 0 and silu → −0, never NaN.
 *
 * Layout: gate, up, out f32 [count] (flat). Launch: 256 invocations per workgroup, grid-stride loop over
 * min(⌈count / 256⌉, maxComputeWorkgroupsPerDimension) workgroups.
 */
import type { GpuFeatures } from '../gpu/gpu-context.js';
import { type KernelRunner, type KernelSpec, params } from '../gpu/kernel-runner.js';
import { gridStrideWorkgroups } from './residual-add.js';

const SPEC: KernelSpec = {
  name: 'swiglu',
  source: /* wgsl */ `
struct Params { count: u32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let stride = groups.x * 256u;
  for (var i = id.x; i < p.count; i += stride) {
    let g = gate[i];
    let e = exp(-abs(g));
    let sigmoid = select(e, 1.0, g >= 0.0) / (1.0 + e);
    out[i] = g * sigmoid * up[i];
  }
}
`,
};

export function swigluKernel(): KernelSpec {
  return SPEC;
}

export interface SwigluJob {
  readonly gate: GPUBuffer;
  readonly up: GPUBuffer;
  /** f32 [count]; neither `gate` nor `up`. */
  readonly out: GPUBuffer;
  readonly count: number;
}

export function recordSwiglu(runner: KernelRunner, _features: Pick<GpuFeatures, 'subgroups'>, job: SwigluJob): void {
  if (job.count === 0) return;
  runner.dispatch(SPEC, { buffers: [job.gate, job.up, job.out], params: params(job.count), workgroups: [gridStrideWorkgroups(runner, job.count)] });
}
