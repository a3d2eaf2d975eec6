/**
 * Token sampling from one row of logits, with the filters in the order transformers and vLLM apply them:
 * presence penalty, temperature, top-k, top-p, min-p.
 *
 * Tie rules (deterministic, so a seeded run reproduces exactly):
 * - argmax / greedy: the lowest token id wins.
 * - top-k: every token whose score equals the k-th largest is kept, so ties can keep more than k tokens
 *   (transformers' TopKLogitsWarper and vLLM both keep `score >= kth value`).
 * - top-p: candidates are ranked by score descending, then token id ascending, and a token is kept while the
 *   probability mass ranked strictly before it is < topP; the most likely token is always kept.
 * - min-p: drops tokens with probability < minP × the top probability (transformers' MinPLogitsWarper).
 * NaN logits are never chosen; -Inf logits have probability 0.
 */
import type { SamplingParams } from './params.js';
import type { Rng } from './rng.js';

/** Index (relative to `offset`) of the largest value in `logits[offset, offset + length)`. Throws if all are NaN. */
export function argmax(logits: Float32Array, offset = 0, length = logits.length - offset): number {
  if (offset < 0 || length <= 0 || offset + length > logits.length) {
    throw new RangeError(`argmax range [${offset}, ${offset + length}) is empty or outside ${logits.length} logits`);
  }
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = logits[offset + i]!;
    // Strict > keeps the lowest index on ties; `best < 0` admits a first -Inf; NaN fails both comparisons.
    if (v > bestValue || (best < 0 && v === -Infinity)) {
      best = i;
      bestValue = v;
    }
  }
  // An all-NaN row means the forward pass broke (e.g. an FP8 overflow); hiding it behind token 0 would turn a
  // numerical failure into plausible-looking text.
  if (best < 0) throw new Error('argmax: every logit is NaN');
  return best;
}

/**
 * The tokens a sampler may draw and their renormalised probabilities. Ranked (most likely first, ties by id)
 * when top-k or top-p needed a ranking; in token-id order otherwise, which saves sorting the vocabulary.
 * `sampleToken` walks them in this order.
 */
export interface TokenDistribution {
  readonly tokens: Int32Array;
  readonly probs: Float64Array;
}

/**
 * The distribution `sampleToken` draws from after every filter. Exposed for tests and for comparing the
 * effective distributions of two kernel modes. `logits` is not modified.
 */
export function samplingDistribution(
  logits: Float32Array,
  params: SamplingParams,
  previousTokens?: ReadonlySet<number>,
): TokenDistribution {
  if (logits.length === 0) throw new RangeError('no logits');
  if (!(params.temperature >= 0)) throw new RangeError(`temperature must be >= 0, got ${params.temperature}`);
  const scores = applyPresencePenalty(logits, params.presencePenalty, previousTokens);
  if (params.temperature === 0) {
    return { tokens: Int32Array.of(argmax(scores)), probs: Float64Array.of(1) };
  }

  const topK = params.topK > 0 && params.topK < scores.length ? params.topK : 0;
  const maxScore = scores[argmax(scores)]!;
  const weightOf = weightFunction(maxScore, params.temperature);

  // Weights are relative to the top token (which has weight 1), so min-p is simply weight >= minP.
  const minWeight = params.minP;
  let candidates: number[];
  // The mass top-p measures against: the whole distribution after top-k.
  let total = 0;
  if (topK > 0) {
    candidates = topKCandidates(scores, topK);
    for (const t of candidates) total += weightOf(scores[t]!);
  } else if (params.topP < 1) {
    ({ candidates, total } = topPCandidates(scores, weightOf, params.topP, minWeight));
  } else {
    // No ranking needed: keep index order and filter by min-p alone.
    return normalise(collect(scores, weightOf, minWeight), scores, weightOf);
  }
  sortByRank(candidates, scores);

  if (params.topP < 1) {
    const limit = params.topP * total;
    let before = 0;
    let keep = 0;
    while (keep < candidates.length && (keep === 0 || before < limit)) {
      before += weightOf(scores[candidates[keep]!]!);
      keep++;
    }
    candidates.length = keep;
  }
  candidates = candidates.filter((t) => {
    const w = weightOf(scores[t]!);
    return w > 0 && w >= minWeight;
  });
  return normalise(candidates, scores, weightOf);
}

/** Draws one token id. `logits` is one row of length vocab and is not modified. */
export function sampleToken(
  logits: Float32Array,
  params: SamplingParams,
  rng: Pick<Rng, 'nextFloat'>,
  previousTokens?: ReadonlySet<number>,
): number {
  const { tokens, probs } = samplingDistribution(logits, params, previousTokens);
  if (params.temperature === 0) return tokens[0]!;
  // Exactly one draw per sampled token, whatever the distribution looks like, so two runs with the same seed
  // (say FP8 and BF16) see the same uniform at every step: their samples stay coupled, and agree whenever the
  // two distributions are close, which makes their divergence a property of the logits and not of RNG drift.
  const u = rng.nextFloat();
  let cumulative = 0;
  for (let i = 0; i < tokens.length; i++) {
    cumulative += probs[i]!;
    if (u < cumulative) return tokens[i]!;
  }
  // Rounding can leave the cumulative sum a hair under 1.
  return tokens[tokens.length - 1]!;
}

let scratch = new Float32Array(0);

/**
 * Returns the caller's array when there is nothing to subtract; otherwise a module-level float32 scratch copy
 * (float32, as the penalty is applied to float32 logits in transformers / vLLM). Reusing the scratch avoids a
 * 600 KB allocation per token; it is safe because sampling is synchronous.
 */
function applyPresencePenalty(logits: Float32Array, penalty: number, previous?: ReadonlySet<number>): Float32Array {
  if (penalty === 0 || previous === undefined || previous.size === 0) return logits;
  if (scratch.length !== logits.length) scratch = new Float32Array(logits.length);
  scratch.set(logits);
  for (const token of previous) {
    if (Number.isInteger(token) && token >= 0 && token < scratch.length) scratch[token] = logits[token]! - penalty;
  }
  return scratch;
}

/**
 * exp((score − max) / T): the unnormalised probability relative to the top token. With an infinite max the
 * limit puts all mass, equally, on the tokens at that max.
 */
function weightFunction(maxScore: number, temperature: number): (score: number) => number {
  if (!Number.isFinite(maxScore)) return (s) => (s === maxScore ? 1 : 0);
  return (s) => (s === s ? Math.exp((s - maxScore) / temperature) : 0);
}

/** Tokens whose score is >= the k-th largest (ties at the boundary kept), via a size-k min-heap: O(V log k). */
function topKCandidates(scores: Float32Array, k: number): number[] {
  const heap = new Float64Array(k);
  let size = 0;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i]!;
    if (v !== v) continue;
    if (size < k) {
      // Sift up.
      let j = size++;
      while (j > 0) {
        const parent = (j - 1) >> 1;
        if (heap[parent]! <= v) break;
        heap[j] = heap[parent]!;
        j = parent;
      }
      heap[j] = v;
    } else if (v > heap[0]!) {
      // Replace the root (the smallest kept value) and sift down.
      let j = 0;
      for (;;) {
        const left = 2 * j + 1;
        if (left >= k) break;
        const child = left + 1 < k && heap[left + 1]! < heap[left]! ? left + 1 : left;
        if (heap[child]! >= v) break;
        heap[j] = heap[child]!;
        j = child;
      }
      heap[j] = v;
    }
  }
  const kth = heap[0]!; // With fewer than k non-NaN scores, the smallest of them: everything is kept.
  const out: number[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i]! >= kth) out.push(i);
  return out;
}

/**
 * Without top-k, top-p still needs a ranked prefix, but only of the tokens that can be in it. Every token with
 * weight >= t is a candidate; if their mass already reaches topP of the total, the ranked prefix lies inside
 * them and nothing below t needs sorting. Try decreasing thresholds until that holds. With min-p, nothing
 * below minP can survive anyway, so minP itself is a sufficient threshold.
 */
function topPCandidates(
  scores: Float32Array,
  weightOf: (score: number) => number,
  topP: number,
  minWeight: number,
): { candidates: number[]; total: number } {
  const weights = new Float64Array(scores.length);
  let total = 0;
  for (let i = 0; i < scores.length; i++) total += weights[i] = weightOf(scores[i]!);
  const thresholds = minWeight > 0 ? [minWeight] : [2 ** -12, 2 ** -24, 2 ** -48];
  for (const threshold of thresholds) {
    const candidates: number[] = [];
    let mass = 0;
    for (let i = 0; i < weights.length; i++) {
      if (weights[i]! >= threshold) {
        candidates.push(i);
        mass += weights[i]!;
      }
    }
    // The margin covers summation-order rounding between this sum and the ranked prefix sums.
    if (minWeight > 0 || mass > topP * total * (1 + 1e-9)) return { candidates, total };
  }
  return { candidates: collect(scores, weightOf, Number.MIN_VALUE), total };
}

/** Tokens with weight >= minWeight and > 0, in index order. */
function collect(scores: Float32Array, weightOf: (score: number) => number, minWeight: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const w = weightOf(scores[i]!);
    if (w > 0 && w >= minWeight) out.push(i);
  }
  return out;
}

function sortByRank(tokens: number[], scores: Float32Array): void {
  tokens.sort((a, b) => scores[b]! - scores[a]! || a - b);
}

function normalise(tokens: number[], scores: Float32Array, weightOf: (score: number) => number): TokenDistribution {
  const probs = new Float64Array(tokens.length);
  let total = 0;
  for (let i = 0; i < tokens.length; i++) total += probs[i] = weightOf(scores[tokens[i]!]!);
  for (let i = 0; i < probs.length; i++) probs[i] = probs[i]! / total;
  return { tokens: Int32Array.from(tokens), probs };
}
