/**
 * The generation loop every local engine shares: chat requests in, tokens out, over a `LogitsModel`.
 *
 * Continuous batching: at most `model.maxBatch` requests hold a sequence slot at once. Each step decodes every
 * in-flight sequence with one `model.decode` call (the sequences may have different lengths); a request that
 * finishes gives its slot back (`model.reset`) and the next queued request is prefilled into it before the next
 * step. Each request samples with its own RNG (`createRng(request.seed)`, one draw per token), so its tokens do
 * not depend on which other requests shared its batches, as long as the model's logits do not.
 *
 * Decisions:
 * - An end-of-sequence token stops the request with `finishReason: 'stop'` and is not part of `tokenIds`, `text`
 *   or the `onToken` stream (the stream concatenates to exactly `tokenIds`).
 * - `'length'` when `maxNewTokens` tokens were generated, or when prompt + generated tokens reached
 *   `model.maxContext` (so the last token could still be fed back into the cache).
 * - Prompts are encoded and checked before the model is touched: an empty prompt, or one longer than
 *   `maxContext − 1` tokens, throws naming the request.
 * - The presence penalty sees the tokens this request has generated so far (not the prompt), as vLLM does.
 * - Calls on the same `LogitsModel` are serialised: a second `generateWithModel` waits for the first, because
 *   both would use the same slots.
 */
import type {
  ChatMessage,
  DecodeInput,
  GenerateOptions,
  GenerateRequest,
  GenerateResult,
  LogitsModel,
} from '../engine.js';
import { createRng } from '../sampling/rng.js';
import type { Rng } from '../sampling/rng.js';
import { sampleToken } from '../sampling/sample.js';
import { deviceTopK, sampleFromTopK } from './device-top-k.js';

/** What the loop needs from a tokenizer; a tokenizer package's tokenizer satisfies it structurally. */
export interface PromptCodec {
  /** The chat template applied to `messages`, with the generation prompt appended, as token ids. */
  encodeChat(messages: readonly ChatMessage[], options: { readonly thinking: boolean }): Int32Array;
  decode(ids: readonly number[]): string;
  /** Any of these ends a request (Qwen3: `<|im_end|>`, `<|endoftext|>`). */
  readonly eosTokenIds: readonly number[];
}

/** Per-request timings beyond `GenerateResult`'s `ttftMs` / `totalMs`, milliseconds. */
export interface GenerationTimings {
  readonly index: number;
  /** From the start of `generate` to the start of this request's prefill: time spent waiting for a slot. */
  readonly queuedMs: number;
  /** The `model.prefill` call alone. */
  readonly prefillMs: number;
  /** As in `GenerateResult`: prefill start to the first sampled token. */
  readonly ttftMs: number;
  /** As in `GenerateResult`: prefill start to the request's end. */
  readonly totalMs: number;
  /** `totalMs − ttftMs`: the decode phase, shared with whatever else was in flight. */
  readonly decodeMs: number;
  /** Decode steps this request took part in. */
  readonly decodeSteps: number;
  /** Tokens sampled after the first (including a final end-of-sequence token) per second of `decodeMs`. */
  readonly decodeTokensPerSecond: number;
}

export interface GenerationRun {
  /** In request order. */
  readonly results: GenerateResult[];
  /** In request order. */
  readonly timings: GenerationTimings[];
  /** From the start of `generate` to the last request's end. */
  readonly wallMs: number;
  /** `model.decode` calls. */
  readonly decodeSteps: number;
  /** Sequences decoded, summed over steps; `decodedRows / decodeSteps` is the mean batch size. */
  readonly decodedRows: number;
}

/** Shared by every local engine's `generate`. Results come back in request order. */
export async function generateWithModel(
  model: LogitsModel,
  codec: PromptCodec,
  requests: readonly GenerateRequest[],
  options?: GenerateOptions,
): Promise<GenerateResult[]> {
  return (await generateWithModelTimed(model, codec, requests, options)).results;
}

const modelQueues = new WeakMap<LogitsModel, Promise<unknown>>();

/** `generateWithModel`, also returning per-request timings and batch statistics. */
export function generateWithModelTimed(
  model: LogitsModel,
  codec: PromptCodec,
  requests: readonly GenerateRequest[],
  options: GenerateOptions = {},
): Promise<GenerationRun> {
  const previous = modelQueues.get(model) ?? Promise.resolve();
  const run = previous.then(
    () => runLoop(model, codec, requests, options),
    () => runLoop(model, codec, requests, options),
  );
  // The queue only orders calls; a failed call must not fail the next one.
  modelQueues.set(model, run.catch(() => undefined));
  return run;
}

interface Active {
  readonly index: number;
  readonly request: GenerateRequest;
  readonly promptTokens: number;
  readonly rng: Rng;
  readonly tokenIds: number[];
  readonly seen: Set<number>;
  readonly prefillStart: number;
  prefillMs: number;
  ttftMs: number;
  decodeSteps: number;
  /** The last sampled token, fed to the next decode step. */
  pending: number;
}

async function runLoop(
  model: LogitsModel,
  codec: PromptCodec,
  requests: readonly GenerateRequest[],
  options: GenerateOptions,
): Promise<GenerationRun> {
  const t0 = performance.now();
  const since = (): number => performance.now() - t0;
  const { onToken, signal } = options;
  signal?.throwIfAborted();

  const vocab = model.vocabSize;
  if (!Number.isInteger(model.maxBatch) || model.maxBatch < 1) {
    throw new RangeError(`model.maxBatch must be a positive integer, got ${model.maxBatch}`);
  }
  const eos = new Set(codec.eosTokenIds);

  // Encode and check everything first, so a bad request fails before any model work.
  const prompts = requests.map((request, index) => {
    if (!Number.isInteger(request.maxNewTokens) || request.maxNewTokens < 1) {
      throw new RangeError(`request ${index}: maxNewTokens must be a positive integer, got ${request.maxNewTokens}`);
    }
    const ids = codec.encodeChat(request.messages, { thinking: request.thinking });
    if (ids.length === 0) throw new RangeError(`request ${index}: the prompt encodes to no tokens`);
    if (ids.length > model.maxContext - 1) {
      throw new RangeError(
        `request ${index}: prompt is ${ids.length} tokens, longer than maxContext − 1 = ${model.maxContext - 1} ` +
          `(maxContext ${model.maxContext}), which leaves no room to generate`,
      );
    }
    return ids;
  });

  const results: (GenerateResult | undefined)[] = new Array(requests.length);
  const timings: (GenerationTimings | undefined)[] = new Array(requests.length);
  const slots: (Active | undefined)[] = new Array(Math.min(model.maxBatch, requests.length)).fill(undefined);
  let nextRequest = 0;
  let decodeSteps = 0;
  let decodedRows = 0;

  const finish = (slot: number, active: Active, reason: GenerateResult['finishReason']): void => {
    const end = since();
    const totalMs = end - active.prefillStart;
    const sampled = active.tokenIds.length + (reason === 'stop' ? 1 : 0);
    const decodeMs = totalMs - active.ttftMs;
    results[active.index] = {
      index: active.index,
      promptTokens: active.promptTokens,
      tokenIds: active.tokenIds,
      text: codec.decode(active.tokenIds),
      finishReason: reason,
      ttftMs: active.ttftMs,
      totalMs,
    };
    timings[active.index] = {
      index: active.index,
      queuedMs: active.prefillStart,
      prefillMs: active.prefillMs,
      ttftMs: active.ttftMs,
      totalMs,
      decodeMs,
      decodeSteps: active.decodeSteps,
      decodeTokensPerSecond: sampled > 1 && decodeMs > 0 ? ((sampled - 1) * 1000) / decodeMs : 0,
    };
    slots[slot] = undefined;
    model.reset(slot);
  };

  /** Takes a sampled token; returns whether the request goes on. */
  const accept = (slot: number, active: Active, token: number): boolean => {
    if (eos.has(token)) {
      finish(slot, active, 'stop');
      return false;
    }
    active.tokenIds.push(token);
    active.seen.add(token);
    onToken?.({ index: active.index, tokenId: token, atMs: since() });
    if (
      active.tokenIds.length >= active.request.maxNewTokens ||
      active.promptTokens + active.tokenIds.length >= model.maxContext
    ) {
      finish(slot, active, 'length');
      return false;
    }
    active.pending = token;
    return true;
  };

  try {
    for (;;) {
      // Fill free slots from the queue. A request can finish on its first token, freeing its slot again.
      for (let slot = 0; slot < slots.length && nextRequest < requests.length; slot++) {
        while (slots[slot] === undefined && nextRequest < requests.length) {
          signal?.throwIfAborted();
          const index = nextRequest++;
          const request = requests[index]!;
          const ids = prompts[index]!;
          // A slot left holding tokens (by another user of the model) would be appended to, not replaced.
          if (model.length(slot) !== 0) model.reset(slot);
          const active: Active = {
            index,
            request,
            promptTokens: ids.length,
            rng: createRng(request.seed),
            tokenIds: [],
            seen: new Set(),
            prefillStart: since(),
            prefillMs: 0,
            ttftMs: 0,
            decodeSteps: 0,
            pending: -1,
          };
          slots[slot] = active;
          const logits = await model.prefill(slot, ids, 'last');
          active.prefillMs = since() - active.prefillStart;
          checkRows(logits, 1, vocab, 'prefill');
          const token = sampleToken(logits, request.sampling, active.rng, active.seen);
          active.ttftMs = since() - active.prefillStart;
          accept(slot, active, token);
        }
      }

      const inputs: DecodeInput[] = [];
      const batch: Active[] = [];
      for (let slot = 0; slot < slots.length; slot++) {
        const active = slots[slot];
        if (active === undefined) continue;
        inputs.push({ sequence: slot, token: active.pending });
        batch.push(active);
      }
      if (inputs.length === 0) break;

      signal?.throwIfAborted();
      decodeSteps++;
      decodedRows += inputs.length;
      const k = deviceTopK(model, batch.map((active) => active.request.sampling));
      if (k !== null) {
        const top = await model.decodeTopK!(inputs, k);
        for (let row = 0; row < inputs.length; row++) {
          const active = batch[row]!;
          active.decodeSteps++;
          accept(inputs[row]!.sequence, active, sampleFromTopK(top, row, active.request.sampling, active.rng));
        }
        continue;
      }
      const logits = await model.decode(inputs);
      checkRows(logits, inputs.length, vocab, 'decode');
      for (let row = 0; row < inputs.length; row++) {
        const active = batch[row]!;
        const slot = inputs[row]!.sequence;
        active.decodeSteps++;
        const token = sampleToken(
          logits.subarray(row * vocab, (row + 1) * vocab),
          active.request.sampling,
          active.rng,
          active.seen,
        );
        accept(slot, active, token);
      }
    }
  } finally {
    // On an error or abort, give back every slot still held so the model is reusable.
    for (let slot = 0; slot < slots.length; slot++) {
      if (slots[slot] === undefined) continue;
      slots[slot] = undefined;
      try {
        model.reset(slot);
      } catch {
        // The original error matters more than a failed cleanup.
      }
    }
  }

  return {
    results: results as GenerateResult[],
    timings: timings as GenerationTimings[],
    wallMs: since(),
    decodeSteps,
    decodedRows,
  };
}

function checkRows(logits: Float32Array, rows: number, vocab: number, call: string): void {
  if (logits.length !== rows * vocab) {
    throw new Error(`model.${call} returned ${logits.length} logits, expected ${rows} × ${vocab} = ${rows * vocab}`);
  }
}
