/**
 * y[t, o] = Σ_i x[t, i] · W[o, i] for BF16 weights W [outDim, inDim] (raw bits, row-major) and float32 x
 * [rows, inDim], over output rows o ∈ [oStart, oEnd). Each weight row is widened to float32 once (a BF16 value is
 * the top half of a float32) and reused for every input row, so prefill reads the weights once per chunk.
 */
import { dot } from './dot.js';

export function matmulBf16(
  y: Float32Array,
  x: Float32Array,
  weight: Uint16Array,
  rows: number,
  inDim: number,
  outDim: number,
  oStart: number,
  oEnd: number,
  scratch: Float32Array,
): void {
  const widened = new Uint32Array(scratch.buffer, scratch.byteOffset, inDim);
  const row = scratch.subarray(0, inDim);
  for (let o = oStart; o < oEnd; o++) {
    const base = o * inDim;
    for (let i = 0; i < inDim; i++) widened[i] = weight[base + i]! << 16;
    for (let t = 0; t < rows; t++) y[t * outDim + o] = dot(x, t * inDim, row, inDim);
  }
}
