/**
 * The `LogitsModel` every local engine shares, over an engine's forward pass on "rows": each row is one token of
 * one sequence at one position. Prefill becomes chunks of rows of one sequence; a batched decode step is one row
 * of each of several sequences (of different lengths). This class owns the checks (token ids, context and batch
 * limits, repeated sequences); the engine owns its KV cache and arithmetic.
 */
import { type DecodeInput, type LogitsModel, type LogitsWanted, MAX_DEVICE_TOP_K, type TopKRows } from '../engine.js';

export interface ForwardRow {
  readonly sequence: number;
  readonly position: number;
  readonly token: number;
}

/** What an engine provides. */
export interface RowForward {
  readonly vocabSize: number;
  readonly maxContext: number;
  readonly maxBatch: number;
  /** Most rows one `run` takes (the prefill chunk). */
  readonly maxRows: number;
  length(sequence: number): number;
  /** Runs the rows, caching their K/V, and returns the logits [logitRows.length, vocab] of the listed rows. */
  run(rows: readonly ForwardRow[], logitRows: readonly number[]): Promise<Float32Array>;
  /** Optional: as `run` with every row wanted, returning only each row's k best (token, logit) pairs. */
  runTopK?(rows: readonly ForwardRow[], k: number): Promise<TopKRows>;
  reset(sequence: number): void;
}

export class RowsLogitsModel implements LogitsModel {
  readonly vocabSize: number;
  readonly maxContext: number;
  readonly maxBatch: number;

  readonly decodeTopK?: (inputs: readonly DecodeInput[], k: number) => Promise<TopKRows>;

  constructor(
    private readonly forward: RowForward,
    private readonly engine: string,
  ) {
    this.vocabSize = forward.vocabSize;
    this.maxContext = forward.maxContext;
    this.maxBatch = forward.maxBatch;
    const runTopK = forward.runTopK?.bind(forward);
    if (runTopK) {
      this.decodeTopK = async (inputs, k) => {
        if (!(Number.isInteger(k) && k >= 1 && k <= MAX_DEVICE_TOP_K)) {
          throw new RangeError(`${this.engine} engine: top-k needs 1 ≤ k ≤ ${MAX_DEVICE_TOP_K}, got ${k}`);
        }
        return runTopK(this.decodeRows(inputs), k);
      };
    }
  }

  length(sequence: number): number {
    return this.forward.length(this.slot(sequence));
  }

  async prefill(sequence: number, tokens: Int32Array, wanted: LogitsWanted): Promise<Float32Array> {
    this.checkTokens(tokens);
    const start = this.length(sequence);
    if (start + tokens.length > this.maxContext) {
      throw new RangeError(`${this.engine} engine: sequence ${sequence} holds ${start} tokens; ${tokens.length} more exceed maxContext ${this.maxContext}`);
    }
    const chunk = this.forward.maxRows;
    const parts: Float32Array[] = [];
    for (let offset = 0; offset < tokens.length; offset += chunk) {
      const count = Math.min(chunk, tokens.length - offset);
      const rows = Array.from({ length: count }, (_, r) => ({ sequence, position: start + offset + r, token: tokens[offset + r]! }));
      const isLast = offset + count === tokens.length;
      const logitRows = wanted === 'all' ? rows.map((_, r) => r) : wanted === 'last' && isLast ? [count - 1] : [];
      parts.push(await this.forward.run(rows, logitRows));
    }
    return concat(parts);
  }

  async decode(inputs: readonly DecodeInput[]): Promise<Float32Array> {
    const rows = this.decodeRows(inputs);
    return this.forward.run(rows, rows.map((_, r) => r));
  }

  /** The rows of one decode step, after the checks every decode needs. */
  private decodeRows(inputs: readonly DecodeInput[]): ForwardRow[] {
    if (inputs.length > this.maxBatch) {
      throw new RangeError(`${this.engine} engine: ${inputs.length} sequences in one decode step, over maxBatch ${this.maxBatch}`);
    }
    if (new Set(inputs.map((input) => input.sequence)).size !== inputs.length) {
      throw new Error(`${this.engine} engine: a decode step lists the same sequence twice`);
    }
    this.checkTokens(Int32Array.from(inputs, (input) => input.token));
    return inputs.map((input) => {
      const position = this.length(input.sequence);
      if (position + 1 > this.maxContext) {
        throw new RangeError(`${this.engine} engine: sequence ${input.sequence} is full (maxContext ${this.maxContext})`);
      }
      return { sequence: input.sequence, position, token: input.token };
    });
  }

  reset(sequence: number): void {
    this.forward.reset(this.slot(sequence));
  }

  private slot(sequence: number): number {
    if (!(Number.isInteger(sequence) && sequence >= 0 && sequence < this.maxBatch)) {
      throw new RangeError(`${this.engine} engine: sequence ${sequence} is not a slot (0 … ${this.maxBatch - 1})`);
    }
    return sequence;
  }

  private checkTokens(tokens: Int32Array): void {
    for (const token of tokens) {
      if (!(token >= 0 && token < this.vocabSize)) {
        throw new RangeError(`${this.engine} engine: token id ${token} is outside the vocabulary [0, ${this.vocabSize})`);
      }
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
