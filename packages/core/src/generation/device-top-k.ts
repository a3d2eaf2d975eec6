/**
 * Sampling from the k best logits selected on the device (`LogitsModel.decodeTopK`), so a decode step reads back
 * k (token, logit) pairs per sequence instead of the whole vocabulary. It applies when every sequence in the step
 * is greedy or samples with 1 ≤ top-k ≤ MAX_DEVICE_TOP_K and no presence penalty (a penalty could lift a token from
 * outside the top k). The result equals sampling from the full row, except that a tie at the k-th value keeps
 * exactly k candidates where the full-row filter keeps every tied token.
 */
import { type LogitsModel, MAX_DEVICE_TOP_K, type TopKRows } from '../engine.js';
import type { SamplingParams } from '../sampling/params.js';
import type { Rng } from '../sampling/rng.js';
import { sampleToken } from '../sampling/sample.js';

/** The k a step needs from the device, or null when the step must read full logits. */
export function deviceTopK(model: LogitsModel, samplings: readonly SamplingParams[]): number | null {
  if (!model.decodeTopK) return null;
  let k = 1;
  for (const sampling of samplings) {
    if (sampling.presencePenalty !== 0) return null;
    if (sampling.temperature === 0) continue;
    if (!(sampling.topK >= 1 && sampling.topK <= MAX_DEVICE_TOP_K)) return null;
    k = Math.max(k, sampling.topK);
  }
  return k;
}

/** Samples row `row` of a device top-k result as `sampleToken` would sample the full row. */
export function sampleFromTopK(top: TopKRows, row: number, sampling: SamplingParams, rng: Pick<Rng, 'nextFloat'>): number {
  const start = row * top.k;
  if (sampling.temperature === 0) return top.tokens[start]!;
  const kept = sampling.topK;
  const choice = sampleToken(top.logits.subarray(start, start + kept), { ...sampling, topK: kept }, rng);
  return top.tokens[start + choice]!;
}
