import { describe, expect, it } from 'vitest';
import type {
  ChatMessage,
  DecodeInput,
  GenerateRequest,
  LogitsModel,
  LogitsWanted,
  TokenEvent,
} from '../src/engine.js';
import { generateWithModel, generateWithModelTimed } from '../src/generation/index.js';
import type { PromptCodec } from '../src/generation/index.js';
import { GREEDY } from '../src/sampling/params.js';
import type { SamplingParams } from '../src/sampling/params.js';

const V = 16;
const EOS = 15;

type Call =
  | { kind: 'prefill'; sequence: number; tokens: number[]; lengthBefore: number }
  | { kind: 'decode'; inputs: { sequence: number; token: number; lengthBefore: number }[] }
  | { kind: 'reset'; sequence: number };

/**
 * A deterministic fake: a sequence's next-token logits depend only on its own last token and length (never on
 * its slot or batch-mates). Token (last + 1) mod V gets logit 3; every other token a pseudo-random value in
 * [0, 1), so greedy decoding counts upwards and temperature-1 sampling has real choices to make.
 */
class FakeModel implements LogitsModel {
  readonly vocabSize = V;
  readonly calls: Call[] = [];
  private readonly seqs: number[][];

  constructor(
    readonly maxBatch: number,
    readonly maxContext = 64,
    private readonly delayMs = 0,
  ) {
    this.seqs = Array.from({ length: maxBatch }, () => []);
  }

  length(sequence: number): number {
    return this.seq(sequence).length;
  }

  async prefill(sequence: number, tokens: Int32Array, wanted: LogitsWanted): Promise<Float32Array> {
    expect(wanted).toBe('last');
    const seq = this.seq(sequence);
    this.calls.push({ kind: 'prefill', sequence, tokens: Array.from(tokens), lengthBefore: seq.length });
    await this.tick();
    if (seq.length + tokens.length > this.maxContext) throw new Error('fake: prefill past maxContext');
    seq.push(...tokens);
    return this.row(seq);
  }

  async decode(inputs: readonly DecodeInput[]): Promise<Float32Array> {
    this.calls.push({
      kind: 'decode',
      inputs: inputs.map((i) => ({ ...i, lengthBefore: this.seq(i.sequence).length })),
    });
    await this.tick();
    const out = new Float32Array(inputs.length * V);
    inputs.forEach(({ sequence, token }, r) => {
      const seq = this.seq(sequence);
      if (seq.length === 0) throw new Error(`fake: decode on empty slot ${sequence}`);
      if (seq.length >= this.maxContext) throw new Error('fake: decode past maxContext');
      seq.push(token);
      out.set(this.row(seq), r * V);
    });
    return out;
  }

  reset(sequence: number): void {
    this.calls.push({ kind: 'reset', sequence });
    this.seq(sequence).length = 0;
  }

  decodes(): Extract<Call, { kind: 'decode' }>[] {
    return this.calls.filter((c): c is Extract<Call, { kind: 'decode' }> => c.kind === 'decode');
  }

  private seq(sequence: number): number[] {
    const seq = this.seqs[sequence];
    if (seq === undefined) throw new Error(`fake: no slot ${sequence}`);
    return seq;
  }

  private async tick(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.delayMs));
  }

  protected row(seq: number[]): Float32Array {
    const last = seq[seq.length - 1]!;
    const row = new Float32Array(V);
    let h = (last * 2654435761 + seq.length * 40503) >>> 0;
    for (let j = 0; j < V; j++) {
      h = (Math.imul(h ^ (h >>> 15), 2246822519) + j) >>> 0;
      row[j] = (h % 1000) / 1000;
    }
    row[(last + 1) % V] = 3;
    return row;
  }
}

/** Prompts are written as space-separated token ids in the last message. */
const codec: PromptCodec = {
  encodeChat(messages: readonly ChatMessage[], { thinking }: { readonly thinking: boolean }): Int32Array {
    const ids = messages[messages.length - 1]!.content.split(' ').filter(Boolean).map(Number);
    return Int32Array.from(thinking ? [...ids, 14] : ids);
  },
  decode: (ids) => ids.map((id) => `<${id}>`).join(''),
  eosTokenIds: [EOS],
};

function request(prompt: number[], maxNewTokens: number, sampling: SamplingParams = GREEDY, seed = 0): GenerateRequest {
  return { messages: [{ role: 'user', content: prompt.join(' ') }], thinking: false, sampling, maxNewTokens, seed };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);
const HOT: SamplingParams = { temperature: 1, topK: 0, topP: 1, minP: 0, presencePenalty: 0 };

describe('generateWithModel', () => {
  it('stops on eos without including it, and on maxNewTokens', async () => {
    const model = new FakeModel(2);
    const [eos, length] = await generateWithModel(model, codec, [request([1, 2, 3], 50), request([1], 3)]);
    expect(eos).toMatchObject({ index: 0, promptTokens: 3, tokenIds: range(4, 15), finishReason: 'stop' });
    expect(eos!.text).toBe(codec.decode(range(4, 15)));
    expect(length).toMatchObject({ index: 1, promptTokens: 1, tokenIds: [2, 3, 4], finishReason: 'length' });
    expect(length!.text).toBe('<2><3><4>');
    for (const r of [eos!, length!]) {
      expect(r.ttftMs).toBeGreaterThanOrEqual(0);
      expect(r.totalMs).toBeGreaterThanOrEqual(r.ttftMs);
    }
    // Every slot is handed back.
    expect(model.length(0) + model.length(1)).toBe(0);
  });

  it('passes thinking to the codec', async () => {
    const model = new FakeModel(1);
    const req = { ...request([3], 2), thinking: true };
    const [r] = await generateWithModel(model, codec, [req]);
    // The fake codec appends token 14 in thinking mode; prompt [3, 14] is followed by 15 = eos at once.
    expect(r).toMatchObject({ promptTokens: 2, tokenIds: [], text: '', finishReason: 'stop' });
  });

  it('stops with length when prompt + generated tokens reach maxContext', async () => {
    const model = new FakeModel(1, 8);
    const [r] = await generateWithModel(model, codec, [request([1, 2, 3], 100)]);
    expect(r).toMatchObject({ tokenIds: [4, 5, 6, 7, 8], finishReason: 'length' });
    // A prompt of maxContext − 1 tokens still gets one token.
    const [one] = await generateWithModel(model, codec, [request(range(0, 7), 100)]);
    expect(one).toMatchObject({ tokenIds: [7], finishReason: 'length' });
  });

  it('rejects an overlong prompt before touching the model, naming the request', async () => {
    const model = new FakeModel(2, 8);
    await expect(generateWithModel(model, codec, [request([1], 4), request(range(0, 8), 4)])).rejects.toThrow(
      /request 1: prompt is 8 tokens.*maxContext − 1 = 7/,
    );
    expect(model.calls).toEqual([]);
    await expect(generateWithModel(model, codec, [request([], 4)])).rejects.toThrow(/request 0/);
    await expect(generateWithModel(model, codec, [request([1], 0)])).rejects.toThrow(/maxNewTokens/);
  });

  it('returns nothing for no requests', async () => {
    const model = new FakeModel(2);
    expect(await generateWithModel(model, codec, [])).toEqual([]);
    expect(model.calls).toEqual([]);
  });

  it('batches continuously: at most maxBatch in flight, slots reset and reused, mixed lengths per decode', async () => {
    const model = new FakeModel(2);
    // Different prompt lengths and budgets, so requests finish at different steps.
    const requests = [
      request([1, 2, 3, 4, 5], 2),
      request([2], 6),
      request([3, 4], 3),
      request([4, 5, 6], 1),
      request([5, 6, 7, 8], 4),
    ];
    const results = await generateWithModel(model, codec, requests);
    expect(results.map((r) => r.index)).toEqual([0, 1, 2, 3, 4]);
    expect(results.map((r) => r.tokenIds)).toEqual([[6, 7], range(3, 9), [5, 6, 7], [7], [9, 10, 11, 12]]);

    const prefills = model.calls.filter((c) => c.kind === 'prefill');
    const resets = model.calls.filter((c) => c.kind === 'reset');
    expect(prefills).toHaveLength(5);
    expect(resets).toHaveLength(5);
    // Prefills in request order, each into an empty slot 0 or 1 (reused after a reset).
    expect(prefills.map((p) => p.tokens)).toEqual(requests.map((r) => r.messages[0]!.content.split(' ').map(Number)));
    for (const p of prefills) {
      expect(p.lengthBefore).toBe(0);
      expect([0, 1]).toContain(p.sequence);
    }
    // Track occupancy through the call log: never more than two, and every decode covers every held slot.
    const held = new Set<number>();
    for (const call of model.calls) {
      if (call.kind === 'prefill') {
        expect(held.has(call.sequence)).toBe(false);
        held.add(call.sequence);
        expect(held.size).toBeLessThanOrEqual(2);
      } else if (call.kind === 'reset') {
        expect(held.delete(call.sequence)).toBe(true);
      } else {
        expect(call.inputs.map((i) => i.sequence).sort()).toEqual([...held].sort());
      }
    }
    expect(held.size).toBe(0);
    const decodes = model.decodes();
    expect(decodes.every((d) => d.inputs.length <= 2)).toBe(true);
    expect(decodes.some((d) => d.inputs.length === 2 && d.inputs[0]!.lengthBefore !== d.inputs[1]!.lengthBefore)).toBe(
      true,
    );
    // The first decode feeds back what each prefill sampled.
    expect(decodes[0]!.inputs).toEqual([
      { sequence: 0, token: 6, lengthBefore: 5 },
      { sequence: 1, token: 3, lengthBefore: 1 },
    ]);
  });

  it('samples reproducibly per seed, independent of batch composition', async () => {
    const target = request([3, 1, 4], 24, HOT, 1234);
    const others = [request([2], 5, HOT, 1), request([7, 7], 30, HOT, 2), request([9], 3, HOT, 3), request([5, 3], 9, HOT, 4)];
    const [alone] = await generateWithModel(new FakeModel(1), codec, [target]);
    const again = await generateWithModel(new FakeModel(3), codec, [target]);
    const batched = await generateWithModel(new FakeModel(2), codec, [others[0]!, others[1]!, target, others[2]!, others[3]!]);
    expect(alone!.tokenIds.length).toBeGreaterThan(0);
    expect(again[0]!.tokenIds).toEqual(alone!.tokenIds);
    expect(batched[2]!.tokenIds).toEqual(alone!.tokenIds);
    expect(batched[2]!.finishReason).toBe(alone!.finishReason);
    // Sampling really is random: the greedy path and another seed differ.
    const [greedy] = await generateWithModel(new FakeModel(1), codec, [{ ...target, sampling: GREEDY }]);
    const [other] = await generateWithModel(new FakeModel(1), codec, [{ ...target, seed: 99 }]);
    expect(alone!.tokenIds).not.toEqual(greedy!.tokenIds);
    expect(alone!.tokenIds).not.toEqual(other!.tokenIds);
  });

  it('applies the presence penalty to the tokens generated so far, not the prompt', async () => {
    // Every position prefers 1 (logit 3), then 2 (2.5), then 3 (1.9).
    class Constant extends FakeModel {
      protected override row(): Float32Array {
        const row = new Float32Array(V);
        row.set([0, 3, 2.5, 1.9]);
        return row;
      }
    }
    const model = new Constant(1);
    const penalised: SamplingParams = { ...GREEDY, presencePenalty: 1 };
    const [plain] = await generateWithModel(model, codec, [request([5], 4)]);
    expect(plain!.tokenIds).toEqual([1, 1, 1, 1]);
    // 1 (3) → 2 (2.5 beats 3 − 1) → 1 (3 − 1 = 2 beats 2.5 − 1 and 1.9) → 1: subtracted once, not per repeat.
    const [pen] = await generateWithModel(model, codec, [request([5], 4, penalised)]);
    expect(pen!.tokenIds).toEqual([1, 2, 1, 1]);
    // Token 1 in the prompt is not penalised.
    const [fromPrompt] = await generateWithModel(model, codec, [request([1, 1], 1, penalised)]);
    expect(fromPrompt!.tokenIds).toEqual([1]);
  });

  it('streams every generated token in order, with times since generate started', async () => {
    const model = new FakeModel(2, 64, 1);
    const events: TokenEvent[] = [];
    const requests = [request([1], 4), request([5, 6], 3), request([9], 20)];
    const results = await generateWithModel(model, codec, requests, { onToken: (e) => events.push(e) });
    for (const r of results) expect(events.filter((e) => e.index === r.index).map((e) => e.tokenId)).toEqual(r.tokenIds);
    expect(events).toHaveLength(results.reduce((n, r) => n + r.tokenIds.length, 0));
    for (let i = 1; i < events.length; i++) expect(events[i]!.atMs).toBeGreaterThanOrEqual(events[i - 1]!.atMs);
    // Requests 0 and 1 share decode steps, so their events interleave.
    const order = events.map((e) => e.index);
    expect(order.slice(0, 4)).toEqual([0, 1, 0, 1]);
  });

  it('reports timings consistently', async () => {
    const model = new FakeModel(1, 64, 2);
    const run = await generateWithModelTimed(model, codec, [request([1], 3), request([2], 3)]);
    expect(run.decodeSteps).toBe(4);
    expect(run.decodedRows).toBe(4);
    for (const t of run.timings) {
      expect(t.prefillMs).toBeGreaterThan(0);
      expect(t.ttftMs).toBeGreaterThanOrEqual(t.prefillMs);
      expect(t.totalMs).toBeGreaterThanOrEqual(t.ttftMs);
      expect(t.decodeMs).toBeCloseTo(t.totalMs - t.ttftMs, 9);
      expect(t.decodeSteps).toBe(2);
      expect(t.decodeTokensPerSecond).toBeGreaterThan(0);
      expect(run.results[t.index]!.ttftMs).toBe(t.ttftMs);
    }
    // The second request waited for the first's slot.
    expect(run.timings[1]!.queuedMs).toBeGreaterThanOrEqual(run.timings[0]!.totalMs);
    expect(run.wallMs).toBeGreaterThanOrEqual(run.timings[1]!.queuedMs + run.timings[1]!.totalMs - 1e-6);
  });

  it('aborts between steps and hands back every slot', async () => {
    const model = new FakeModel(2, 64, 1);
    const controller = new AbortController();
    let seen = 0;
    const promise = generateWithModel(model, codec, [request([1], 20), request([2], 20), request([3], 20)], {
      signal: controller.signal,
      onToken: () => {
        if (++seen === 5) controller.abort();
      },
    });
    await expect(promise).rejects.toMatchObject({ name: 'AbortError' });
    const decodesAfterAbort = model.decodes().length;
    expect(decodesAfterAbort).toBeLessThan(5);
    expect(model.length(0) + model.length(1)).toBe(0);

    const aborted = AbortSignal.abort();
    const fresh = new FakeModel(2);
    await expect(generateWithModel(fresh, codec, [request([1], 3)], { signal: aborted })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(fresh.calls).toEqual([]);
  });

  it('serialises concurrent calls on the same model', async () => {
    const model = new FakeModel(2, 64, 1);
    const a = [request([1], 5, HOT, 1), request([2, 3], 7, HOT, 2), request([4], 3, HOT, 3)];
    const b = [request([8], 6, HOT, 4), request([9, 9], 2, HOT, 5)];
    const [ra, rb] = await Promise.all([generateWithModel(model, codec, a), generateWithModel(model, codec, b)]);
    expect(ra).toEqual(await generateWithModel(new FakeModel(2), codec, a).then(withoutTimes(ra!)));
    expect(rb).toEqual(await generateWithModel(new FakeModel(2), codec, b).then(withoutTimes(rb!)));
    // No prefill ever appended to a slot that still held a sequence.
    for (const c of model.calls) if (c.kind === 'prefill') expect(c.lengthBefore).toBe(0);
  });

  it('cleans up when the model throws', async () => {
    const model = new FakeModel(2);
    let decodes = 0;
    const decode = model.decode.bind(model);
    model.decode = async (inputs) => {
      if (++decodes === 3) throw new Error('device lost');
      return decode(inputs);
    };
    await expect(generateWithModel(model, codec, [request([1], 9), request([2], 9)])).rejects.toThrow('device lost');
    expect(model.length(0) + model.length(1)).toBe(0);
    // The model is usable afterwards.
    model.decode = decode;
    const [r] = await generateWithModel(model, codec, [request([1], 2)]);
    expect(r!.tokenIds).toEqual([2, 3]);
  });
});

/** Copies the timing fields of `reference` into fresh results so the rest can be compared exactly. */
function withoutTimes(reference: readonly { ttftMs: number; totalMs: number }[]) {
  return <T extends { ttftMs: number; totalMs: number }>(results: T[]): T[] =>
    results.map((r, i) => ({ ...r, ttftMs: reference[i]!.ttftMs, totalMs: reference[i]!.totalMs }));
}
