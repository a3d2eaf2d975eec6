/**
 * Kernel microbenchmarks as cases: an engine says what it can run (a name, the bytes a kernel must move, its FLOPs)
 * and how to prepare and run one call; timing is the harness's (`runMicrobenchmarks` for a bench run, the gate's
 * paired sampler for an A/B comparison), so every engine is timed the same way.
 */
import type { KernelMode } from '../engine.js';
import type { KernelSlowdown } from './slowdown.js';

/** The layer shapes kernel microbenchmarks run at (a Qwen3 config has them all). */
export interface MicrobenchmarkShapes {
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
}

/** Qwen3-4B's layer shapes, the default for kernel microbenchmarks. */
export const QWEN3_4B_SHAPES: MicrobenchmarkShapes = { hiddenSize: 2560, intermediateSize: 9728, numHeads: 32, numKvHeads: 8, headDim: 128, vocabSize: 151_936 };

/** A layer's linear projections at these shapes, as [name, outDim, inDim] (HF Linear layout). */
export function layerProjections(shapes: MicrobenchmarkShapes): [string, number, number][] {
  const qDim = shapes.numHeads * shapes.headDim;
  return [
    ['q_proj', qDim, shapes.hiddenSize],
    ['k_proj', shapes.numKvHeads * shapes.headDim, shapes.hiddenSize],
    ['o_proj', shapes.hiddenSize, qDim],
    ['gate_proj', shapes.intermediateSize, shapes.hiddenSize],
    ['down_proj', shapes.hiddenSize, shapes.intermediateSize],
  ];
}

/** Activation rows of the prefill-shaped matmul microbenchmark (a prefill chunk). */
export const MICROBENCHMARK_GEMM_ROWS = 64;

export interface MicrobenchmarkSuiteOptions {
  /** Default: Qwen3-4B's shapes. */
  readonly shapes?: MicrobenchmarkShapes;
  /** Fewer kernels: the biggest (lm_head) and the long-context ones are left out. */
  readonly quick?: boolean;
  /** Tests of the gate only: cases made to do more work (see KernelSlowdown). */
  readonly slowdowns?: readonly KernelSlowdown[];
}

/** Context lengths of the decode-attention microbenchmarks (the long one is left out when `quick`). */
export function microbenchmarkContexts(options: Pick<MicrobenchmarkSuiteOptions, 'quick'>): number[] {
  return options.quick ? [512] : [512, 2048];
}

/** A kernel made ready to run: its buffers allocated and filled, its code compiled. */
export interface PreparedMicrobenchmark {
  /** One call of the kernel, returning when its work is done (a GPU kernel: when the device has finished). */
  run(): void | Promise<void>;
  /** The code compiled for it at run time (generated WGSL), once it has run; absent where nothing is generated. */
  compiledSources?(): readonly string[];
  dispose(): void | Promise<void>;
}

export interface MicrobenchmarkCase {
  /** `gemv-b1 q_proj 4096x2560 bf16`, `rms-norm 2560x256`, `copy 64MiB` (the reference). */
  readonly name: string;
  readonly kernel: KernelMode;
  /** The bandwidth-ceiling probe (a buffer copy) every other case is measured against; one per suite. */
  readonly reference: boolean;
  /** Bytes the kernel must move at least (for a copy: read + write). */
  readonly bytes: number;
  /** Floating-point operations (a multiply-add counts 2). */
  readonly flops: number;
  /** The kernel source the case runs (KernelSource.name), when one file holds it. */
  readonly source?: string;
  /** The kernel runs on the calling thread alone (a CPU kernel), not on a pool or a device. */
  readonly singleThread?: boolean;
  prepare(): Promise<PreparedMicrobenchmark>;
}

/** An engine's cases, and the resources they share (a GPU device of their own), released by `dispose`. */
export interface MicrobenchmarkSuite {
  readonly cases: readonly MicrobenchmarkCase[];
  dispose(): Promise<void>;
}

/** Whether `only` selects the case named `name` (every case when it is unset or empty). */
export function microbenchmarkSelected(name: string, only: readonly string[] | undefined): boolean {
  return !only || only.length === 0 || only.some((filter) => name.includes(filter));
}

/** One timed kernel's samples; statistics (median, spread, GB/s, FLOP/s, fraction of the ceiling) are the caller's. */
export interface MicrobenchmarkRow {
  readonly name: string;
  readonly kernel: KernelMode;
  readonly reference: boolean;
  /** Milliseconds per call, one per timed repeat. */
  readonly samplesMs: readonly number[];
  /**
   * The reference probe timed right after each of this row's samples (same length as `samplesMs`): each pair sees
   * the same machine load, so load that changes during a run cancels in the fraction of the ceiling.
   */
  readonly referenceSamplesMs?: readonly number[];
  readonly bytes: number;
  readonly flops: number;
  readonly source?: string;
}
