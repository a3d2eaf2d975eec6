/**
 * The matmuls the engine records: y = x · Wᵀ for BF16 weights, block-FP8 weights with f32 activations (w8a16),
 * or block-FP8 weights with FP8-quantised activations (w8a8), plus the dynamic activation quantiser w8a8 needs.
 *
 * `recordMatmul` picks the kernel: up to GEMV_MAX_ROWS (8) activation rows go to a bandwidth-bound GEMV (one
 * 64-invocation workgroup per output feature, 2-D grid so outDim may exceed 65535, rows compiled in), more rows
 * to a 64 × 64-tiled GEMM (grid ⌈outDim/64⌉ × ⌈rows/64⌉, 256 invocations, K-tiles of 16). Outputs go to
 * out[r · outStride + outOffset + o], so a weight split over several buffers can fill column ranges of one
 * logits buffer. Everything is recorded into the runner; nothing is submitted.
 *
 * Storage-buffer order per kernel (bindings 1..n): bf16 (input, weight, output); w8a16 (input, weight, scales,
 * output); w8a8 (input values, inputScales, weight, scales, output).
 */
import type { GpuFeatures } from '../gpu/gpu-context.js';
import { type KernelRunner, type KernelSpec, params } from '../gpu/kernel-runner.js';
import { gemmBf16Kernel, GEMM_TILE_OUT, GEMM_TILE_ROWS } from './gemm-bf16.js';
import { gemmFp8W8a16Kernel } from './gemm-fp8-w8a16.js';
import { gemmFp8W8a8Kernel } from './gemm-fp8-w8a8.js';
import { gemvBf16Kernel, GEMV_MAX_ROWS, type GemvOptions, MAX_WORKGROUPS_PER_DIMENSION } from './gemv-bf16.js';
import { gemvFp8W8a16Kernel } from './gemv-fp8-w8a16.js';
import { gemvFp8W8a8Kernel } from './gemv-fp8-w8a8.js';
import { matmulPerOutputKernel, PER_OUTPUT_THREADS, perOutputRowGroup } from './matmul-per-output.js';
import { QUANT_GROUP, quantizeActivationsFp8Kernel } from './quantize-activations-fp8.js';

export { GEMV_MAX_ROWS };

export type MatmulMode = 'bf16' | 'w8a16' | 'w8a8';

export interface MatmulJob {
  readonly mode: MatmulMode;
  /** BF16 [outDim, inDim] or E4M3 codes [outDim, inDim], raw bytes. */
  readonly weight: GPUBuffer;
  /** FP8 modes: `weight_scale_inv`, f32 [⌈outDim/128⌉, ⌈inDim/128⌉]. */
  readonly scales?: GPUBuffer;
  /** f32 [rows, inDim]; for w8a8 the quantised values (exact e4m3 values as f32). */
  readonly input: GPUBuffer;
  /** w8a8: the activation scales, f32 [rows, ⌈inDim/128⌉]. */
  readonly inputScales?: GPUBuffer;
  /** f32, element (r, o) at r · outStride + outOffset + o. */
  readonly output: GPUBuffer;
  readonly rows: number;
  readonly inDim: number;
  readonly outDim: number;
  /** Row stride of the output in elements; defaults to outDim. */
  readonly outStride?: number;
  /** Column offset of this matmul's outputs in the output rows; defaults to 0. */
  readonly outOffset?: number;
}

const FP8_BLOCK = 128;

function gemvKernel(mode: MatmulMode, options: GemvOptions): KernelSpec {
  if (mode === 'bf16') return gemvBf16Kernel(options);
  if (mode === 'w8a16') return gemvFp8W8a16Kernel(options);
  return gemvFp8W8a8Kernel(options);
}

function gemmKernel(mode: MatmulMode): KernelSpec {
  if (mode === 'bf16') return gemmBf16Kernel();
  if (mode === 'w8a16') return gemmFp8W8a16Kernel();
  return gemmFp8W8a8Kernel();
}

function checkJob(job: MatmulJob): { outStride: number; outOffset: number } {
  const { mode, rows, inDim, outDim } = job;
  const outStride = job.outStride ?? outDim;
  const outOffset = job.outOffset ?? 0;
  for (const [name, value] of Object.entries({ rows, inDim, outDim, outStride, outOffset })) {
    if (!Number.isInteger(value) || value < 0 || value >= 2 ** 32) throw new RangeError(`matmul: bad ${name} ${value}`);
  }
  if (outStride < outDim) throw new RangeError(`matmul: outStride ${outStride} < outDim ${outDim}`);
  if (mode === 'bf16') {
    if (inDim % 2 !== 0) throw new RangeError(`matmul bf16: inDim ${inDim} must be even`);
  } else {
    if (inDim % 4 !== 0) throw new RangeError(`matmul ${mode}: inDim ${inDim} must be a multiple of 4`);
    if (!job.scales) throw new Error(`matmul ${mode}: weight scales missing`);
    if (mode === 'w8a8' && !job.inputScales) throw new Error('matmul w8a8: input scales missing');
  }
  return { outStride, outOffset };
}

/** Records y = x · Wᵀ (see MatmulJob) into `runner`: a GEMV for rows ≤ 8, the tiled GEMM beyond. */
export function recordMatmul(runner: KernelRunner, features: Pick<GpuFeatures, 'subgroups'> & { readonly software?: boolean }, job: MatmulJob): void {
  const { outStride, outOffset } = checkJob(job);
  const { mode, rows, inDim, outDim } = job;
  if (rows === 0 || outDim === 0) return;
  const scaleCols = Math.ceil(inDim / FP8_BLOCK);
  const buffers: GPUBuffer[] =
    mode === 'bf16'
      ? [job.input, job.weight, job.output]
      : mode === 'w8a16'
        ? [job.input, job.weight, job.scales!, job.output]
        : [job.input, job.inputScales!, job.weight, job.scales!, job.output];
  if (features.software) {
    const workgroups = Math.ceil(outDim / PER_OUTPUT_THREADS);
    const gridX = Math.min(workgroups, MAX_WORKGROUPS_PER_DIMENSION);
    runner.dispatch(matmulPerOutputKernel(mode, perOutputRowGroup(rows)), {
      buffers,
      params: params(rows, inDim, outDim, outStride, outOffset, gridX, scaleCols, 0),
      workgroups: [gridX, Math.ceil(workgroups / gridX)],
    });
    return;
  }
  if (rows <= GEMV_MAX_ROWS) {
    const gridX = Math.min(outDim, MAX_WORKGROUPS_PER_DIMENSION);
    const gridY = Math.ceil(outDim / gridX);
    runner.dispatch(gemvKernel(mode, { subgroups: features.subgroups, rows }), {
      buffers,
      params: params(rows, inDim, outDim, outStride, outOffset, gridX, scaleCols, 0),
      workgroups: [gridX, gridY],
    });
    return;
  }
  const gridX = Math.ceil(outDim / GEMM_TILE_OUT);
  const gridY = Math.ceil(rows / GEMM_TILE_ROWS);
  if (gridX > MAX_WORKGROUPS_PER_DIMENSION || gridY > MAX_WORKGROUPS_PER_DIMENSION) {
    throw new RangeError(`matmul: [${rows}, ${outDim}] needs a ${gridX} × ${gridY} grid, over ${MAX_WORKGROUPS_PER_DIMENSION}`);
  }
  runner.dispatch(gemmKernel(mode), {
    buffers,
    params: params(rows, inDim, outDim, outStride, outOffset, scaleCols, 0, 0),
    workgroups: [gridX, gridY],
  });
}

export interface QuantizeActivationsJob {
  /** f32 [rows, dim]. */
  readonly input: GPUBuffer;
  /** f32 [rows, dim]: the e4m3 values. */
  readonly values: GPUBuffer;
  /** f32 [rows, ⌈dim/128⌉]. */
  readonly scales: GPUBuffer;
  readonly rows: number;
  readonly dim: number;
  /** Use subgroup operations; defaults to whether the runner's device has them. */
  readonly subgroups?: boolean;
}

/** Records the per-token 1×128 FP8 quantisation of `input` into `values` and `scales`. */
export function recordQuantizeActivations(runner: KernelRunner, job: QuantizeActivationsJob): void {
  const { rows, dim } = job;
  if (!Number.isInteger(rows) || !Number.isInteger(dim) || rows < 0 || dim < 0) throw new RangeError(`quantize: bad shape [${rows}, ${dim}]`);
  if (rows === 0 || dim === 0) return;
  const groups = Math.ceil(dim / QUANT_GROUP);
  if (rows > MAX_WORKGROUPS_PER_DIMENSION || groups > MAX_WORKGROUPS_PER_DIMENSION) {
    throw new RangeError(`quantize: [${rows}, ${dim}] needs more than ${MAX_WORKGROUPS_PER_DIMENSION} workgroups in a dimension`);
  }
  const subgroups = job.subgroups ?? runner.context.features.subgroups;
  runner.dispatch(quantizeActivationsFp8Kernel({ subgroups }), {
    buffers: [job.input, job.values, job.scales],
    params: params(rows, dim, groups, 0),
    workgroups: [groups, rows],
  });
}
