/**
 * The Qwen3 forward pass (Hugging Face `modeling_qwen3` semantics), read top to bottom in `run`.
 *
 * A call processes up to `maxRows` token rows at once. Each row is one token of one sequence at one position: a
 * prefill chunk is many rows of one sequence, a batched decode step is one row of each of several sequences of
 * different lengths. Activations are float32 (sums in float64); weights stay in their stored format and the
 * matmuls are split over threads; norms, RoPE and attention run on the calling thread.
 */
import { E4M3_DECODE, type ForwardRow, type KernelMode, type MemoryReport, quantizeActivationsFp8, type RowForward } from '@quantbench/core';
import { attendOne } from './kernels/attention.js';
import { applyRope } from './kernels/rope.js';
import { rmsNorm } from './kernels/rms-norm.js';
import { swiglu } from './kernels/swiglu.js';
import { KvCache } from './kv-cache.js';
import { Op } from './pool/jobs.js';
import { ThreadPool } from './pool/thread-pool.js';
import { type RopeFrequencies, ropeFrequencies } from '@quantbench/model';
import type { LinearWeight, ModelWeights } from './weights.js';

export interface ForwardOptions {
  readonly threads: number;
  readonly maxRows: number;
  readonly maxBatch: number;
  readonly maxContext: number;
}

/** Activation buffers, shared with the thread pool by index. */
const Act = {
  residual: 0,
  normed: 1,
  q: 2,
  k: 3,
  v: 4,
  attention: 5,
  gate: 6,
  up: 7,
  projected: 8,
  quantValues: 9,
  quantScales: 10,
  logits: 11,
} as const;

export class Qwen3Forward implements RowForward {
  private readonly act: Float32Array[];
  private readonly scores: Float64Array;
  private readonly headAccumulator: Float64Array;

  private constructor(
    readonly weights: ModelWeights,
    readonly kernel: KernelMode,
    readonly options: ForwardOptions,
    private readonly pool: ThreadPool,
    activations: readonly SharedArrayBuffer[],
    readonly kv: KvCache,
    private readonly rope: RopeFrequencies,
  ) {
    this.act = activations.map((buffer) => new Float32Array(buffer));
    this.scores = new Float64Array(options.maxContext);
    this.headAccumulator = new Float64Array(weights.config.headDim);
    this.activationBytes = activations.reduce((sum, buffer) => sum + buffer.byteLength, 0);
  }

  readonly activationBytes: number;

  static async create(weights: ModelWeights, kernel: KernelMode, options: ForwardOptions): Promise<Qwen3Forward> {
    const c = weights.config;
    const qDim = c.numHeads * c.headDim;
    const kvDim = c.numKvHeads * c.headDim;
    const widest = Math.max(c.hiddenSize, c.intermediateSize, qDim);
    const floats = (perRow: number): SharedArrayBuffer => new SharedArrayBuffer(options.maxRows * perRow * 4);
    const activations = [
      floats(c.hiddenSize), // residual
      floats(c.hiddenSize), // normed
      floats(qDim), // q
      floats(kvDim), // k
      floats(kvDim), // v
      floats(qDim), // attention
      floats(c.intermediateSize), // gate
      floats(c.intermediateSize), // up
      floats(c.hiddenSize), // projected
      floats(kernel === 'w8a8' ? widest : 0), // quantValues
      floats(kernel === 'w8a8' ? Math.ceil(widest / 128) : 0), // quantScales
      floats(c.vocabSize), // logits
    ];
    const pool = await ThreadPool.create(options.threads, weights.shared, activations, widest);
    const kv = new KvCache(c.numLayers, kvDim, options.maxBatch, options.maxContext);
    return new Qwen3Forward(weights, kernel, options, pool, activations, kv, ropeFrequencies(c));
  }

  /**
   * Runs `rows` through the model, appending their K/V to each sequence's cache, and returns the logits
   * [logitRows.length, vocab] of the rows listed in `logitRows` (indices into `rows`).
   */
  get vocabSize(): number {
    return this.weights.config.vocabSize;
  }

  get maxRows(): number {
    return this.options.maxRows;
  }

  get maxBatch(): number {
    return this.options.maxBatch;
  }

  get maxContext(): number {
    return this.options.maxContext;
  }

  length(sequence: number): number {
    return this.kv.length(sequence);
  }

  reset(sequence: number): void {
    this.kv.reset(sequence);
  }

  async run(rows: readonly ForwardRow[], logitRows: readonly number[]): Promise<Float32Array> {
    return this.runNow(rows, logitRows);
  }

  /** The forward pass itself; synchronous, because the thread pool blocks until every slice is done. */
  private runNow(rows: readonly ForwardRow[], logitRows: readonly number[]): Float32Array {
    const c = this.weights.config;
    const n = rows.length;
    const { residual, normed, q, k, v, attention, gate, up, projected } = this.views();
    const qDim = c.numHeads * c.headDim;
    const kvDim = c.numKvHeads * c.headDim;
    for (const row of rows) this.kv.reserve(row.sequence, row.position + 1);

    // Token embeddings (BF16 → float32: a BF16 value is the top half of a float32).
    const residualBits = new Uint32Array(residual.buffer);
    rows.forEach((row, r) => {
      for (let i = 0; i < c.hiddenSize; i++) residualBits[r * c.hiddenSize + i] = this.weights.embedding[row.token * c.hiddenSize + i]! << 16;
    });

    this.weights.layers.forEach((layer, l) => {
      // Attention block: pre-norm, q/k/v projections, per-head q/k RMSNorm before RoPE, cache, attend, o_proj.
      rmsNorm(normed, residual, layer.inputNorm, n, c.hiddenSize, c.rmsNormEps);
      this.linear(layer.linear['self_attn.q_proj'], Act.normed, Act.q, n);
      this.linear(layer.linear['self_attn.k_proj'], Act.normed, Act.k, n);
      this.linear(layer.linear['self_attn.v_proj'], Act.normed, Act.v, n);
      rmsNorm(q, q, layer.qNorm, n * c.numHeads, c.headDim, c.rmsNormEps);
      rmsNorm(k, k, layer.kNorm, n * c.numKvHeads, c.headDim, c.rmsNormEps);
      rows.forEach((row, r) => {
        applyRope(q, r * qDim, c.numHeads, c.headDim, row.position, this.rope.invFreq, this.rope.attentionScale);
        applyRope(k, r * kvDim, c.numKvHeads, c.headDim, row.position, this.rope.invFreq, this.rope.attentionScale);
        this.kv.keys(row.sequence, l).set(k.subarray(r * kvDim, (r + 1) * kvDim), row.position * kvDim);
        this.kv.values(row.sequence, l).set(v.subarray(r * kvDim, (r + 1) * kvDim), row.position * kvDim);
      });
      // Every row's K/V is cached before any row attends, so a prefill chunk sees itself causally.
      rows.forEach((row, r) => {
        attendOne(attention, r * qDim, q, r * qDim, this.kv.keys(row.sequence, l), this.kv.values(row.sequence, l),
          row.position, c.numHeads, c.numKvHeads, c.headDim, this.scores, this.headAccumulator);
      });
      this.linear(layer.linear['self_attn.o_proj'], Act.attention, Act.projected, n);
      for (let i = 0; i < n * c.hiddenSize; i++) residual[i] = residual[i]! + projected[i]!;

      // MLP block: pre-norm, down(silu(gate(x)) · up(x)).
      rmsNorm(normed, residual, layer.postAttentionNorm, n, c.hiddenSize, c.rmsNormEps);
      this.linear(layer.linear['mlp.gate_proj'], Act.normed, Act.gate, n);
      this.linear(layer.linear['mlp.up_proj'], Act.normed, Act.up, n);
      swiglu(gate, gate, up, n * c.intermediateSize);
      this.linear(layer.linear['mlp.down_proj'], Act.gate, Act.projected, n);
      for (let i = 0; i < n * c.hiddenSize; i++) residual[i] = residual[i]! + projected[i]!;
    });

    for (const row of rows) this.kv.setLength(row.sequence, Math.max(this.kv.length(row.sequence), row.position + 1));
    if (logitRows.length === 0) return new Float32Array(0);

    // Final norm of the wanted rows only, then the (tied, BF16) lm_head.
    logitRows.forEach((r, i) => normed.set(residual.subarray(r * c.hiddenSize, (r + 1) * c.hiddenSize), i * c.hiddenSize));
    rmsNorm(normed, normed, this.weights.finalNorm, logitRows.length, c.hiddenSize, c.rmsNormEps);
    this.linear(this.weights.lmHead, Act.normed, Act.logits, logitRows.length);
    return this.act[Act.logits]!.slice(0, logitRows.length * c.vocabSize);
  }

  /** y = x·Wᵀ over the thread pool, in the kernel mode's arithmetic. */
  private linear(weight: LinearWeight, input: number, output: number, rows: number): void {
    const job = { weight: weight.id, output, rows, inDim: weight.inDim, outDim: weight.outDim };
    if (weight.kind === 'bf16') {
      this.pool.run({ ...job, op: Op.matmulBf16, input });
    } else if (this.kernel === 'w8a8') {
      this.quantizeActivations(input, rows, weight.inDim);
      this.pool.run({ ...job, op: Op.matmulFp8W8a8, input: Act.quantValues, inputScales: Act.quantScales });
    } else {
      this.pool.run({ ...job, op: Op.matmulFp8W8a16, input });
    }
  }

  /** Dynamic per-token 1×128 e4m3 quantisation of an activation, stored as decoded values plus group scales. */
  private quantizeActivations(input: number, rows: number, dim: number): void {
    const { codes, scales } = quantizeActivationsFp8(this.act[input]!.subarray(0, rows * dim), rows, dim);
    const values = this.act[Act.quantValues]!;
    for (let i = 0; i < codes.length; i++) values[i] = E4M3_DECODE[codes[i]!]!;
    this.act[Act.quantScales]!.set(scales);
  }

  private views() {
    const a = this.act;
    return {
      residual: a[Act.residual]!,
      normed: a[Act.normed]!,
      q: a[Act.q]!,
      k: a[Act.k]!,
      v: a[Act.v]!,
      attention: a[Act.attention]!,
      gate: a[Act.gate]!,
      up: a[Act.up]!,
      projected: a[Act.projected]!,
    };
  }

  /** Weights, KV cache and activation buffers, as this engine holds them. */
  memory(): MemoryReport {
    const fixed = this.weights.bytes + this.activationBytes;
    return {
      bytesNow: fixed + this.kv.bytes(),
      bytesPeak: fixed + this.kv.peakBytes(),
      weightBytes: this.weights.bytes,
      kvCacheBytes: this.kv.bytes(),
      source: 'engine accounting (weights, KV cache, activation buffers)',
    };
  }

  async dispose(): Promise<void> {
    await this.pool.dispose();
  }
}
