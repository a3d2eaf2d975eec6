import { describe, expect, it } from 'vitest';
import { type DecodeInput, GREEDY, generateWithModel, type GenerateRequest, type LogitsModel, type LogitsWanted, type PromptCodec, type TopKRows } from '../src/index.js';

const VOCAB = 300;

/** Logits that depend only on a sequence's own history (distinct values: a tie at the k-th value is the documented exception). */
function row(history: readonly number[]): Float32Array {
  const last = history.at(-1) ?? 0;
  return Float32Array.from({ length: VOCAB }, (_, v) => Math.sin(v * 0.37 + last * 1.1 + history.length) * 4);
}

function fakeModel(withTopK: boolean, calls: { topK: number; full: number }): LogitsModel {
  const histories: number[][] = [[], []];
  const decodeRows = (inputs: readonly DecodeInput[]): Float32Array[] =>
    inputs.map(({ sequence, token }) => {
      histories[sequence]!.push(token);
      return row(histories[sequence]!);
    });
  const model: LogitsModel = {
    vocabSize: VOCAB,
    maxContext: 64,
    maxBatch: 2,
    length: (s) => histories[s]!.length,
    reset: (s) => {
      histories[s] = [];
    },
    async prefill(s: number, tokens: Int32Array, _wanted: LogitsWanted) {
      histories[s]!.push(...tokens);
      return row(histories[s]!);
    },
    async decode(inputs) {
      calls.full++;
      const rows = decodeRows(inputs);
      const out = new Float32Array(rows.length * VOCAB);
      rows.forEach((r, i) => out.set(r, i * VOCAB));
      return out;
    },
  };
  if (!withTopK) return model;
  return {
    ...model,
    async decodeTopK(inputs: readonly DecodeInput[], k: number): Promise<TopKRows> {
      calls.topK++;
      const rows = decodeRows(inputs);
      const tokens = new Int32Array(rows.length * k);
      const logits = new Float32Array(rows.length * k);
      rows.forEach((r, i) => {
        const order = [...r.keys()].sort((a, b) => r[b]! - r[a]! || a - b).slice(0, k);
        order.forEach((token, j) => {
          tokens[i * k + j] = token;
          logits[i * k + j] = r[token]!;
        });
      });
      return { k, tokens, logits };
    },
  };
}

const codec: PromptCodec = { encodeChat: (messages) => Int32Array.from([...messages[0]!.content].map((c) => c.charCodeAt(0) % VOCAB)), decode: (ids) => ids.join(' '), eosTokenIds: [299] };

describe('device top-k sampling', () => {
  const sampled = { temperature: 0.8, topK: 20, topP: 0.9, minP: 0.05, presencePenalty: 0 };
  const requests: GenerateRequest[] = [
    { messages: [{ role: 'user', content: 'abc' }], thinking: false, sampling: GREEDY, maxNewTokens: 12, seed: 0 },
    { messages: [{ role: 'user', content: 'hello' }], thinking: false, sampling: sampled, maxNewTokens: 12, seed: 5 },
    { messages: [{ role: 'user', content: 'xyz' }], thinking: false, sampling: { ...sampled, topK: 5 }, maxNewTokens: 12, seed: 9 },
  ];

  it('gives the same tokens as full-logit sampling, reading only k pairs per sequence', async () => {
    const fullCalls = { topK: 0, full: 0 };
    const deviceCalls = { topK: 0, full: 0 };
    const full = await generateWithModel(fakeModel(false, fullCalls), codec, requests);
    const device = await generateWithModel(fakeModel(true, deviceCalls), codec, requests);
    expect(device.map((r) => r.tokenIds)).toEqual(full.map((r) => r.tokenIds));
    expect(deviceCalls.full).toBe(0);
    expect(deviceCalls.topK).toBe(fullCalls.full);
  });

  it('falls back to full logits when a request has a presence penalty or no top-k', async () => {
    for (const sampling of [{ ...sampled, presencePenalty: 0.5 }, { ...sampled, topK: 0 }]) {
      const calls = { topK: 0, full: 0 };
      await generateWithModel(fakeModel(true, calls), codec, [{ ...requests[1]!, sampling }]);
      expect(calls.topK).toBe(0);
      expect(calls.full).toBeGreaterThan(0);
    }
  });
});
