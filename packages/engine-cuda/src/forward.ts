/**
 * The Qwen3 forward pass on CUDA as core's RowForward: rows (one token of one sequence at one position) go to the
 * native model, which runs them top to bottom (native/model/cuda_model.cc `enqueueForward`): embedding → per layer
 * rmsNorm, q/k/v, qkNormRopeCache, attention (a prefill chunk: tiled causal; otherwise split-K decode), o_proj,
 * residual, rmsNorm, gate/up, swiglu, down, residual → final rmsNorm → BF16 lm_head of the wanted rows only.
 * Decode steps replay a CUDA graph per batch size. Sequence lengths are kept here, as the WebGPU engine does.
 */
import type { ForwardRow, MemoryReport, RowForward, TopKRows } from '@quantbench/core';
import type { NativeMemory, NativeModel } from './native.js';

export interface CudaForwardOptions {
  readonly maxRows: number;
  readonly maxBatch: number;
  readonly maxContext: number;
  readonly vocabSize: number;
}

/** Memory as MemoryReport, plus what the CUDA allocator and cudaMemGetInfo say. */
export interface CudaMemoryReport extends MemoryReport {
  /** Live and peak bytes of each allocation category (weights, kv-cache, activations, scratch). */
  readonly categories: NativeMemory['categories'];
  /** cudaMemGetInfo: device memory in use before the model's first allocation, after loading, and now. */
  readonly deviceUsedBeforeLoad: number;
  readonly deviceUsedAfterLoad: number;
  readonly deviceUsedNow: number;
  readonly deviceTotal: number;
}

export class CudaForward implements RowForward {
  readonly vocabSize: number;
  readonly maxRows: number;
  readonly maxBatch: number;
  readonly maxContext: number;
  private readonly lengths: number[];
  private disposed = false;

  constructor(
    private readonly model: NativeModel,
    options: CudaForwardOptions,
  ) {
    this.vocabSize = options.vocabSize;
    this.maxRows = options.maxRows;
    this.maxBatch = options.maxBatch;
    this.maxContext = options.maxContext;
    this.lengths = new Array<number>(options.maxBatch).fill(0);
  }

  length(sequence: number): number {
    return this.lengths[sequence]!;
  }

  reset(sequence: number): void {
    this.lengths[sequence] = 0;
  }

  async run(rows: readonly ForwardRow[], logitRows: readonly number[]): Promise<Float32Array> {
    const { tokens, slots, positions } = rowArrays(rows);
    const logits = await this.model.run(tokens, slots, positions, Int32Array.from(logitRows));
    this.advance(rows);
    return logits;
  }

  /** Every row's logits stay on the GPU; only each row's k best (token, logit) pairs come back. */
  async runTopK(rows: readonly ForwardRow[], k: number): Promise<TopKRows> {
    const { tokens, slots, positions } = rowArrays(rows);
    const { values, indices } = await this.model.runTopK(tokens, slots, positions, k);
    this.advance(rows);
    return { k, tokens: indices, logits: values };
  }

  private advance(rows: readonly ForwardRow[]): void {
    for (const row of rows) this.lengths[row.sequence] = Math.max(this.lengths[row.sequence]!, row.position + 1);
  }

  memory(): CudaMemoryReport {
    const m = this.model.memory();
    const gib = (bytes: number): string => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
    return {
      bytesNow: m.live,
      bytesPeak: m.peak,
      weightBytes: m.categories.weights.live,
      kvCacheBytes: m.categories['kv-cache'].live,
      categories: m.categories,
      deviceUsedBeforeLoad: m.deviceUsedBeforeLoad,
      deviceUsedAfterLoad: m.deviceUsedAfterLoad,
      deviceUsedNow: m.deviceTotal - m.deviceFree,
      deviceTotal: m.deviceTotal,
      source:
        `engine allocator (every cudaMalloc of the model); cudaMemGetInfo used ${gib(m.deviceUsedBeforeLoad)} before load, ` +
        `${gib(m.deviceUsedAfterLoad)} after, ${gib(m.deviceTotal - m.deviceFree)} now of ${gib(m.deviceTotal)}`,
    };
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.model.dispose();
  }
}

function rowArrays(rows: readonly ForwardRow[]): { tokens: Int32Array; slots: Int32Array; positions: Int32Array } {
  return {
    tokens: Int32Array.from(rows, (row) => row.token),
    slots: Int32Array.from(rows, (row) => row.sequence),
    positions: Int32Array.from(rows, (row) => row.position),
  };
}
