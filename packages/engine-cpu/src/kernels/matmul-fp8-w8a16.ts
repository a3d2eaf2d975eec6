/**
 * w8a16: y[t, o] = Σ_i x[t, i] · e4m3(W[o, i]) · scaleInv[⌊o/128⌋, ⌊i/128⌋] for FP8 E4M3 weight codes
 * [outDim, inDim] with 128×128 block scales [⌈outDim/128⌉, ⌈inDim/128⌉], float32 activations, over output rows
 * [oStart, oEnd). The weight stays one byte per value; each row is dequantised into float32 scratch once and
 * reused for every input row. The last block of a row or column may be partial.
 */
import { E4M3_DECODE, FP8_BLOCK } from '@quantbench/core';
import { dot } from './dot.js';

export function matmulFp8W8a16(
  y: Float32Array,
  x: Float32Array,
  codes: Uint8Array,
  scaleInv: Float32Array,
  rows: number,
  inDim: number,
  outDim: number,
  oStart: number,
  oEnd: number,
  scratch: Float32Array,
): void {
  const scaleCols = Math.ceil(inDim / FP8_BLOCK);
  const row = scratch.subarray(0, inDim);
  const decode = E4M3_DECODE; // a local: an imported binding read in the inner loop ran 9× slower under vitest's module transform
  for (let o = oStart; o < oEnd; o++) {
    const base = o * inDim;
    const scaleRow = Math.floor(o / FP8_BLOCK) * scaleCols;
    for (let block = 0; block < scaleCols; block++) {
      const scale = scaleInv[scaleRow + block]!;
      const end = Math.min(inDim, (block + 1) * FP8_BLOCK);
      for (let i = block * FP8_BLOCK; i < end; i++) row[i] = decode[codes[base + i]!]! * scale;
    }
    for (let t = 0; t < rows; t++) y[t * outDim + o] = dot(x, t * inDim, row, inDim);
  }
}
