/** The Qwen3 MLP's activation: out[i] = silu(gate[i]) · up[i], silu(g) = g / (1 + e^(−g)), over `count` values. */
export function swiglu(out: Float32Array, gate: Float32Array, up: Float32Array, count: number): void {
  for (let i = 0; i < count; i++) {
    const g = gate[i]!;
    out[i] = (g / (1 + Math.exp(-g))) * up[i]!;
  }
}
