/**
 * w8a8 (block FP8 as vLLM, SGLang and DeepGEMM run it): activations arrive quantised per token in 1×128 groups
 * (values xq = e4m3(code) [rows, inDim], scales xs [rows, ⌈inDim/128⌉]); weights are E4M3 codes with 128×128
 * block scales. Each 128-wide K block's partial sum of exact e4m3×e4m3 products is scaled by
 * xs[t, block] · scaleInv[⌊o/128⌋, block] and accumulated:
 *   y[t, o] = Σ_block xs[t, block] · ws[⌊o/128⌋, block] · Σ_{i ∈ block} xq[t, i] · e4m3(W[o, i]).
 * Output rows [oStart, oEnd).
 */
import { E4M3_DECODE, FP8_BLOCK } from '@quantbench/core';
import { dotRange } from './dot.js';

export function matmulFp8W8a8(
  y: Float32Array,
  activationValues: Float32Array,
  activationScales: Float32Array,
  codes: Uint8Array,
  scaleInv: Float32Array,
  rows: number,
  inDim: number,
  outDim: number,
  oStart: number,
  oEnd: number,
  scratch: Float32Array,
): void {
  const blocks = Math.ceil(inDim / FP8_BLOCK);
  const row = scratch.subarray(0, inDim);
  const decode = E4M3_DECODE; // a local: see matmul-fp8-w8a16.ts
  for (let o = oStart; o < oEnd; o++) {
    const base = o * inDim;
    for (let i = 0; i < inDim; i++) row[i] = decode[codes[base + i]!]!;
    const weightScales = Math.floor(o / FP8_BLOCK) * blocks;
    for (let t = 0; t < rows; t++) {
      let sum = 0;
      for (let block = 0; block < blocks; block++) {
        const start = block * FP8_BLOCK;
        const partial = dotRange(activationValues, t * inDim, row, 0, start, Math.min(inDim, start + FP8_BLOCK));
        sum += partial * activationScales[t * blocks + block]! * scaleInv[weightScales + block]!;
      }
      y[t * outDim + o] = sum;
    }
  }
}
