/**
 * Causal grouped-query attention of one token against its sequence's KV cache, in float64:
 *   out[h] = Σ_{p ≤ position} softmax_p(q[h] · K[p, g] / √d) · V[p, g],  g = ⌊h / (heads / kvHeads)⌋.
 * Layouts: q and out [heads, d] at their offsets; K and V [capacity, kvHeads, d] for this sequence and layer.
 * `scores` is scratch of at least position + 1 values, `accumulator` of head_dim values.
 */
export function attendOne(
  out: Float32Array,
  outOffset: number,
  q: Float32Array,
  qOffset: number,
  keys: Float32Array,
  values: Float32Array,
  position: number,
  heads: number,
  kvHeads: number,
  headDim: number,
  scores: Float64Array,
  accumulator: Float64Array,
): void {
  const group = heads / kvHeads;
  const scale = 1 / Math.sqrt(headDim);
  const stride = kvHeads * headDim;
  for (let h = 0; h < heads; h++) {
    const qBase = qOffset + h * headDim;
    const kvBase = Math.floor(h / group) * headDim;
    let max = -Infinity;
    for (let p = 0; p <= position; p++) {
      const kBase = p * stride + kvBase;
      let s = 0;
      for (let i = 0; i < headDim; i++) s += q[qBase + i]! * keys[kBase + i]!;
      s *= scale;
      scores[p] = s;
      if (s > max) max = s;
    }
    let total = 0;
    for (let p = 0; p <= position; p++) {
      const e = Math.exp(scores[p]! - max);
      scores[p] = e;
      total += e;
    }
    accumulator.fill(0, 0, headDim);
    for (let p = 0; p <= position; p++) {
      const weight = scores[p]! / total;
      const vBase = p * stride + kvBase;
      for (let i = 0; i < headDim; i++) accumulator[i] = accumulator[i]! + weight * values[vBase + i]!;
    }
    const oBase = outOffset + h * headDim;
    for (let i = 0; i < headDim; i++) out[oBase + i] = accumulator[i]!;
  }
}
