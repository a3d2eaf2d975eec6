/**
 * The Qwen3 forward pass on WebGPU, recorded as one submission per call and read top to bottom in `run`.
 * Rows as in core's RowForward: one token of one sequence at one position; a prefill chunk is many rows of one
 * sequence (tiled causal attention), a decode step one row of each of several sequences (split-K attention).
 * Activations are f32; weights stay packed in their stored formats and are decoded inside the matmul kernels.
 */
import { type ForwardRow, type KernelMode, MAX_DEVICE_TOP_K, type MemoryReport, type RowForward, type TopKRows } from '@quantbench/core';
import { ropeFrequencies, ropeTable } from '@quantbench/model';
import { type GpuContext, KernelRunner } from './gpu/index.js';
import { attentionDecodePartialsBytes, recordAttentionDecode } from './kernels/attention-decode.js';
import { recordAttentionPrefill } from './kernels/attention-prefill.js';
import { recordEmbeddingGather } from './kernels/embedding-gather.js';
import { recordMatmul, recordQuantizeActivations } from './kernels/matmul.js';
import { recordQkNormRopeCache } from './kernels/qk-norm-rope-cache.js';
import { recordResidualAdd } from './kernels/residual-add.js';
import { recordRmsNorm } from './kernels/rms-norm.js';
import { recordSwiglu } from './kernels/swiglu.js';
import { recordTopK, topKScratch } from './kernels/top-k.js';
import type { GpuLinear, GpuWeights } from './weights.js';

export interface WebGpuForwardOptions {
  readonly maxRows: number;
  readonly maxBatch: number;
  readonly maxContext: number;
}

export class WebGpuForward implements RowForward {
  readonly vocabSize: number;
  readonly maxRows: number;
  readonly maxBatch: number;
  readonly maxContext: number;
  private readonly runner: KernelRunner;
  private readonly lengths: number[];
  private readonly buffers: GPUBuffer[] = [];
  private readonly act: Record<
    | 'residual'
    | 'normed'
    | 'q'
    | 'k'
    | 'v'
    | 'attention'
    | 'gate'
    | 'up'
    | 'hidden'
    | 'projected'
    | 'quantValues'
    | 'quantScales'
    | 'logits'
    | 'tokens'
    | 'rowInfo'
    | 'partials'
    | 'rope'
    | 'topValues'
    | 'topIndices',
    GPUBuffer
  >;
  private readonly topKScratch: GPUBuffer[];
  private readonly keys: GPUBuffer[] = [];
  private readonly values: GPUBuffer[] = [];
  private readonly kvBytes: number;

  constructor(
    private readonly context: GpuContext,
    private readonly weights: GpuWeights,
    private readonly kernel: KernelMode,
    options: WebGpuForwardOptions,
  ) {
    const c = weights.config;
    this.vocabSize = c.vocabSize;
    this.maxRows = options.maxRows;
    this.maxBatch = options.maxBatch;
    this.maxContext = options.maxContext;
    this.runner = new KernelRunner(context);
    this.lengths = new Array<number>(options.maxBatch).fill(0);
    const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const make = (category: string, label: string, bytes: number): GPUBuffer => {
      const buffer = context.memory.create(category, label, bytes, storage);
      this.buffers.push(buffer);
      return buffer;
    };
    const rowsOf = (floats: number, label: string): GPUBuffer => make('activations', label, this.maxRows * floats * 4);
    const qDim = c.numHeads * c.headDim;
    const kvDim = c.numKvHeads * c.headDim;
    const widest = Math.max(c.hiddenSize, c.intermediateSize, qDim);
    const table = ropeTable(ropeFrequencies(c), this.maxContext);
    this.act = {
      residual: rowsOf(c.hiddenSize, 'residual'),
      normed: rowsOf(c.hiddenSize, 'normed'),
      q: rowsOf(qDim, 'q'),
      k: rowsOf(kvDim, 'k'),
      v: rowsOf(kvDim, 'v'),
      attention: rowsOf(qDim, 'attention'),
      gate: rowsOf(c.intermediateSize, 'gate'),
      up: rowsOf(c.intermediateSize, 'up'),
      hidden: rowsOf(c.intermediateSize, 'swiglu'),
      projected: rowsOf(c.hiddenSize, 'projected'),
      quantValues: rowsOf(kernel === 'w8a8' ? widest : 1, 'w8a8 values'),
      quantScales: rowsOf(kernel === 'w8a8' ? Math.ceil(widest / 128) : 1, 'w8a8 scales'),
      logits: rowsOf(c.vocabSize, 'logits'),
      tokens: rowsOf(1, 'token ids'),
      rowInfo: rowsOf(2, 'row slot and position'),
      partials: make('activations', 'attention partials', attentionDecodePartialsBytes(this.maxRows, c.numHeads, c.headDim, this.maxContext)),
      rope: make('rope', 'rope cos/sin', table.byteLength),
      topValues: rowsOf(MAX_DEVICE_TOP_K, 'top-k logits'),
      topIndices: rowsOf(MAX_DEVICE_TOP_K, 'top-k tokens'),
    };
    const scratch = topKScratch(this.maxRows, c.vocabSize, MAX_DEVICE_TOP_K);
    this.topKScratch = Array.from({ length: scratch.buffers }, (_, i) => make('activations', `top-k scratch ${i}`, scratch.bytes));
    context.device.queue.writeBuffer(this.act.rope, 0, table as Float32Array<ArrayBuffer>);
    const cacheBytes = this.maxBatch * this.maxContext * kvDim * 4;
    for (let layer = 0; layer < c.numLayers; layer++) {
      this.keys.push(make('kv-cache', `layer ${layer} keys`, cacheBytes));
      this.values.push(make('kv-cache', `layer ${layer} values`, cacheBytes));
    }
    this.kvBytes = 2 * c.numLayers * cacheBytes;
  }

  length(sequence: number): number {
    return this.lengths[sequence]!;
  }

  reset(sequence: number): void {
    this.lengths[sequence] = 0;
  }

  async run(rows: readonly ForwardRow[], logitRows: readonly number[]): Promise<Float32Array> {
    this.record(rows, logitRows);
    if (logitRows.length === 0) {
      await this.runner.finish();
      return new Float32Array(0);
    }
    return new Float32Array(await this.runner.read(this.act.logits, 0, logitRows.length * this.vocabSize * 4));
  }

  /** Every row's logits stay on the GPU; only each row's k best (token, logit) pairs are read back. */
  async runTopK(rows: readonly ForwardRow[], k: number): Promise<TopKRows> {
    const n = rows.length;
    this.record(rows, rows.map((_, r) => r));
    recordTopK(this.runner, this.context.features, {
      logits: this.act.logits, values: this.act.topValues, indices: this.act.topIndices, scratch: this.topKScratch, rows: n, vocab: this.vocabSize, k,
    });
    const logits = new Float32Array(await this.runner.read(this.act.topValues, 0, n * k * 4));
    const tokens = new Int32Array(await this.runner.read(this.act.topIndices, 0, n * k * 4));
    return { k, tokens, logits };
  }

  /** Records the forward pass of `rows`, leaving the logits of `logitRows` in the logits buffer. */
  private record(rows: readonly ForwardRow[], logitRows: readonly number[]): void {
    const c = this.weights.config;
    const a = this.act;
    const n = rows.length;
    const features = this.context.features;
    const queue = this.context.device.queue;
    queue.writeBuffer(a.tokens, 0, Uint32Array.from(rows, (row) => row.token));
    queue.writeBuffer(a.rowInfo, 0, Uint32Array.from(rows.flatMap((row) => [row.sequence, row.position])));
    const shape = { heads: c.numHeads, kvHeads: c.numKvHeads, headDim: c.headDim, maxContext: this.maxContext };

    // Token embeddings (BF16 rows → f32), from each chunk of the table.
    for (const chunk of this.weights.embedding) {
      recordEmbeddingGather(this.runner, features, { table: chunk.buffer, rowStart: chunk.rowStart, tableRows: chunk.rows, tokens: a.tokens, out: a.residual, rows: n, hidden: c.hiddenSize });
    }

    const prefill = isPrefillChunk(rows);
    this.weights.layers.forEach((layer, l) => {
      // Attention block: pre-norm, q/k/v, per-head q/k RMSNorm then RoPE and the KV-cache write, attend, o_proj.
      recordRmsNorm(this.runner, features, { x: a.residual, weight: layer.inputNorm, out: a.normed, rows: n, size: c.hiddenSize, eps: c.rmsNormEps });
      this.project([layer.linear['self_attn.q_proj'], layer.linear['self_attn.k_proj'], layer.linear['self_attn.v_proj']], a.normed, [a.q, a.k, a.v], n);
      recordQkNormRopeCache(this.runner, features, {
        q: a.q, k: a.k, v: a.v, qkNormWeights: layer.qkNorm, ropeTable: a.rope, rowInfo: a.rowInfo,
        kCache: this.keys[l]!, vCache: this.values[l]!, rows: n, eps: c.rmsNormEps, maxBatch: this.maxBatch, ...shape,
      });
      const attention = { q: a.q, keys: this.keys[l]!, values: this.values[l]!, rowInfo: a.rowInfo, out: a.attention, rows: n, ...shape };
      if (prefill) recordAttentionPrefill(this.runner, features, { ...attention, p0: rows[0]!.position });
      else recordAttentionDecode(this.runner, features, { ...attention, partials: a.partials, maxPosition: Math.max(...rows.map((row) => row.position)) });
      this.project([layer.linear['self_attn.o_proj']], a.attention, [a.projected], n);
      recordResidualAdd(this.runner, features, { x: a.residual, y: a.projected, count: n * c.hiddenSize });

      // MLP block: pre-norm, down(silu(gate(x)) · up(x)).
      recordRmsNorm(this.runner, features, { x: a.residual, weight: layer.postAttentionNorm, out: a.normed, rows: n, size: c.hiddenSize, eps: c.rmsNormEps });
      this.project([layer.linear['mlp.gate_proj'], layer.linear['mlp.up_proj']], a.normed, [a.gate, a.up], n);
      recordSwiglu(this.runner, features, { gate: a.gate, up: a.up, out: a.hidden, count: n * c.intermediateSize });
      this.project([layer.linear['mlp.down_proj']], a.hidden, [a.projected], n);
      recordResidualAdd(this.runner, features, { x: a.residual, y: a.projected, count: n * c.hiddenSize });
    });
    for (const row of rows) this.lengths[row.sequence] = Math.max(this.lengths[row.sequence]!, row.position + 1);
    if (logitRows.length === 0) return;

    // Final norm of the wanted rows only (gathered to the front of `normed`), then the tied BF16 lm_head.
    const rowBytes = c.hiddenSize * 4;
    logitRows.forEach((r, i) => this.runner.copy(a.residual, r * rowBytes, a.normed, i * rowBytes, rowBytes));
    const wanted = logitRows.length;
    recordRmsNorm(this.runner, features, { x: a.normed, weight: this.weights.finalNorm, out: a.projected, rows: wanted, size: c.hiddenSize, eps: c.rmsNormEps });
    for (const chunk of this.weights.lmHead) {
      recordMatmul(this.runner, features, {
        mode: 'bf16', weight: chunk.buffer, input: a.projected, output: a.logits, rows: wanted,
        inDim: c.hiddenSize, outDim: chunk.rows, outStride: c.vocabSize, outOffset: chunk.rowStart,
      });
    }
  }

  /** x·Wᵀ for several weights that read the same input; in w8a8 the input is quantised once for all of them. */
  private project(linears: readonly GpuLinear[], input: GPUBuffer, outputs: readonly GPUBuffer[], rows: number): void {
    const inDim = linears[0]!.inDim;
    const quantise = this.kernel === 'w8a8' && linears.some((linear) => linear.kind === 'fp8');
    if (quantise) recordQuantizeActivations(this.runner, { input, values: this.act.quantValues, scales: this.act.quantScales, rows, dim: inDim, subgroups: this.context.features.subgroups });
    linears.forEach((linear, i) => {
      const common = { output: outputs[i]!, rows, inDim: linear.inDim, outDim: linear.outDim };
      if (linear.kind === 'bf16') recordMatmul(this.runner, this.context.features, { ...common, mode: 'bf16', weight: linear.weight, input });
      else if (quantise) {
        recordMatmul(this.runner, this.context.features, {
          ...common, mode: 'w8a8', weight: linear.weight, scales: linear.scales, input: this.act.quantValues, inputScales: this.act.quantScales,
        });
      } else recordMatmul(this.runner, this.context.features, { ...common, mode: 'w8a16', weight: linear.weight, scales: linear.scales, input });
    });
  }

  memory(): MemoryReport {
    const accounting = this.context.memory.accounting();
    return {
      bytesNow: accounting.bytesNow,
      bytesPeak: accounting.bytesPeak,
      weightBytes: this.weights.bytes,
      kvCacheBytes: this.kvBytes,
      source: 'engine accounting of every WebGPU buffer (WebGPU has no memory query)',
    };
  }

  dispose(): void {
    for (const buffer of this.buffers) this.context.memory.destroy(buffer);
    for (const buffer of this.weights.buffers) this.context.memory.destroy(buffer);
  }
}

/** Rows of one sequence at consecutive positions: a prefill chunk, run by the tiled causal kernel. */
function isPrefillChunk(rows: readonly ForwardRow[]): boolean {
  return rows.length > 1 && rows.every((row, i) => row.sequence === rows[0]!.sequence && row.position === rows[0]!.position + i);
}
