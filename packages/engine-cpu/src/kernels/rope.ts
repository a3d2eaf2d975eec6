/**
 * Rotary position embedding, rotate-half (NeoX) layout as Hugging Face's Qwen3: for a head vector v of size d and
 * pair index j < d/2 with angle θ_j = position · invFreq[j],
 *   out[j]       = v[j]·cos θ_j − v[j + d/2]·sin θ_j
 *   out[j + d/2] = v[j + d/2]·cos θ_j + v[j]·sin θ_j
 * with cos and sin multiplied by `attentionScale` (1, or YaRN's attention factor). Applied in place to `heads`
 * consecutive head vectors starting at `offset`. Angles are computed in float64.
 */
export function applyRope(
  v: Float32Array,
  offset: number,
  heads: number,
  headDim: number,
  position: number,
  invFreq: Float64Array,
  attentionScale: number,
): void {
  const half = headDim / 2;
  for (let j = 0; j < half; j++) {
    const angle = position * invFreq[j]!;
    const cos = Math.cos(angle) * attentionScale;
    const sin = Math.sin(angle) * attentionScale;
    for (let h = 0; h < heads; h++) {
      const base = offset + h * headDim;
      const first = v[base + j]!;
      const second = v[base + j + half]!;
      v[base + j] = first * cos - second * sin;
      v[base + j + half] = second * cos + first * sin;
    }
  }
}
