/**
 * A model loaded by the CPU engine: the `LogitsModel` (prefill in chunks, batched decode, per-slot KV cache) and
 * the `LoadedModel` around it (generation through core's shared loop, memory accounting).
 */
import {
  type DecodeInput,
  type GenerateOptions,
  type GenerateRequest,
  type GenerateResult,
  generateWithModel,
  type KernelMode,
  type LoadedModel,
  type LogitsModel,
  type LogitsWanted,
  type MemoryReport,
  type PromptCodec,
} from '@quantbench/core';
import type { ForwardRow, Qwen3Forward } from './forward.js';

export class CpuLogitsModel implements LogitsModel {
  readonly vocabSize: number;
  readonly maxContext: number;
  readonly maxBatch: number;

  constructor(private readonly forward: Qwen3Forward) {
    this.vocabSize = forward.weights.config.vocabSize;
    this.maxContext = forward.options.maxContext;
    this.maxBatch = forward.options.maxBatch;
  }

  length(sequence: number): number {
    return this.forward.kv.length(sequence);
  }

  async prefill(sequence: number, tokens: Int32Array, wanted: LogitsWanted): Promise<Float32Array> {
    this.checkTokens(tokens);
    const start = this.length(sequence);
    if (start + tokens.length > this.maxContext) {
      throw new RangeError(`cpu engine: sequence ${sequence} holds ${start} tokens; ${tokens.length} more exceed maxContext ${this.maxContext}`);
    }
    const chunk = this.forward.options.maxRows;
    const parts: Float32Array[] = [];
    for (let offset = 0; offset < tokens.length; offset += chunk) {
      const count = Math.min(chunk, tokens.length - offset);
      const rows: ForwardRow[] = Array.from({ length: count }, (_, r) => ({
        sequence,
        position: start + offset + r,
        token: tokens[offset + r]!,
      }));
      const isLast = offset + count === tokens.length;
      const logitRows = wanted === 'all' ? rows.map((_, r) => r) : wanted === 'last' && isLast ? [count - 1] : [];
      parts.push(this.forward.run(rows, logitRows));
    }
    return concat(parts);
  }

  async decode(inputs: readonly DecodeInput[]): Promise<Float32Array> {
    if (inputs.length > this.maxBatch) throw new RangeError(`cpu engine: ${inputs.length} sequences in one decode step, over maxBatch ${this.maxBatch}`);
    if (new Set(inputs.map((input) => input.sequence)).size !== inputs.length) {
      throw new Error('cpu engine: a decode step lists the same sequence twice');
    }
    this.checkTokens(Int32Array.from(inputs, (input) => input.token));
    const rows = inputs.map((input) => ({ sequence: input.sequence, position: this.length(input.sequence), token: input.token }));
    return this.forward.run(rows, rows.map((_, r) => r));
  }

  reset(sequence: number): void {
    this.forward.kv.reset(sequence);
  }

  private checkTokens(tokens: Int32Array): void {
    for (const token of tokens) {
      if (!(token >= 0 && token < this.vocabSize)) throw new RangeError(`cpu engine: token id ${token} is outside the vocabulary [0, ${this.vocabSize})`);
    }
  }
}

function concat(parts: readonly Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export class CpuLoadedModel implements LoadedModel {
  readonly logits: CpuLogitsModel;

  constructor(
    private readonly forward: Qwen3Forward,
    private readonly codec: PromptCodec,
    readonly kernel: KernelMode,
    readonly modelDir: string,
  ) {
    this.logits = new CpuLogitsModel(forward);
  }

  generate(requests: readonly GenerateRequest[], options?: GenerateOptions): Promise<GenerateResult[]> {
    return generateWithModel(this.logits, this.codec, requests, options);
  }

  memory(): MemoryReport {
    const fixed = this.forward.weights.bytes + this.forward.activationBytes;
    return {
      bytesNow: fixed + this.forward.kv.bytes(),
      bytesPeak: fixed + this.forward.kv.peakBytes(),
      weightBytes: this.forward.weights.bytes,
      kvCacheBytes: this.forward.kv.bytes(),
      source: 'engine accounting (weights, KV cache, activation buffers)',
    };
  }

  dispose(): Promise<void> {
    return this.forward.dispose();
  }
}
