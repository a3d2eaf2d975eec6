/**
 * Dynamic per-token-group FP8 activation quantisation, as vLLM / SGLang `per_token_group_quant_fp8` do it for
 * block-FP8 (w8a8) GEMMs: each token's row is cut into groups of 128 along the hidden dimension, and each group
 * gets its own float32 scale = max(amax, eps) / 448, computed on the fly. Codes are e4m3(x / scale).
 */
import { E4M3_DECODE, E4M3_MAX, f32ArrayToE4m3 } from '../formats/e4m3.js';
import { FP8_BLOCK } from './block-fp8.js';
import { checkQuantShape } from './check-shape.js';

/**
 * vLLM's default `eps` for `per_token_group_quant_fp8`: floors amax so an all-zero group gets a tiny positive
 * scale instead of 0/0 = NaN.
 */
export const ACTIVATION_AMAX_EPS = 1e-10;

export interface Fp8Activations {
  /** E4M3 codes, [tokens, dim] row-major. */
  readonly codes: Uint8Array;
  /** Per-group scales (multipliers), [tokens, ceil(dim/group)] row-major. */
  readonly scales: Float32Array;
}

export function quantizeActivationsFp8(x: Float32Array, tokens: number, dim: number, group = FP8_BLOCK): Fp8Activations {
  checkQuantShape(x.length, tokens, dim, group, 'group');
  const groups = Math.ceil(dim / group);
  const codes = new Uint8Array(tokens * dim);
  const scales = new Float32Array(tokens * groups);
  const quotient = new Float32Array(Math.min(group, dim));
  for (let t = 0; t < tokens; t++) {
    for (let g = 0; g < groups; g++) {
      const start = t * dim + g * group;
      const end = t * dim + Math.min(dim, (g + 1) * group);
      let amax = 0;
      for (let i = start; i < end; i++) {
        const a = Math.abs(x[i]!);
        if (a > amax) amax = a;
      }
      const scale = Math.fround(Math.max(amax, ACTIVATION_AMAX_EPS) / E4M3_MAX);
      scales[t * groups + g] = scale;
      const n = end - start;
      for (let i = 0; i < n; i++) quotient[i] = x[start + i]! / scale;
      f32ArrayToE4m3(quotient.subarray(0, n), codes.subarray(start, end));
    }
  }
  return { codes, scales };
}

export function dequantizeActivationsFp8(
  codes: Uint8Array,
  scales: Float32Array,
  tokens: number,
  dim: number,
  group = FP8_BLOCK,
): Float32Array {
  checkQuantShape(codes.length, tokens, dim, group, 'group');
  const groups = Math.ceil(dim / group);
  if (scales.length !== tokens * groups) {
    throw new RangeError(`scales has ${scales.length} entries, expected ${tokens * groups} for [${tokens}, ${dim}]`);
  }
  const out = new Float32Array(tokens * dim);
  for (let t = 0; t < tokens; t++) {
    for (let d = 0; d < dim; d++) {
      out[t * dim + d] = E4M3_DECODE[codes[t * dim + d]!]! * scales[t * groups + ((d / group) | 0)]!;
    }
  }
  return out;
}
