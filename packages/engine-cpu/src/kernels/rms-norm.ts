/**
 * RMSNorm as Qwen3 uses it: out[r, i] = x[r, i] / √(mean_i x[r, i]² + eps) · weight[i], for `rows` rows of
 * `size` values each starting at `offset`, computed in float64. Also serves the per-head q/k norms (rows =
 * tokens × heads, size = head_dim). `out` may be `x`.
 */
export function rmsNorm(
  out: Float32Array,
  x: Float32Array,
  weight: Float32Array,
  rows: number,
  size: number,
  eps: number,
): void {
  for (let r = 0; r < rows; r++) {
    const base = r * size;
    let squares = 0;
    for (let i = 0; i < size; i++) squares += x[base + i]! * x[base + i]!;
    const inverseRms = 1 / Math.sqrt(squares / size + eps);
    for (let i = 0; i < size; i++) out[base + i] = x[base + i]! * inverseRms * weight[i]!;
  }
}
