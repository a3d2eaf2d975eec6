/**
 * Block-wise FP8 weights as Hugging Face stores them for Qwen3-*-FP8 and DeepSeek-V3
 * (`quantization_config: { quant_method: 'fp8', weight_block_size: [128, 128] }`): an E4M3 `weight` of shape
 * [rows, cols] plus a float32 `weight_scale_inv` of shape [ceil(rows/128), ceil(cols/128)]. Despite its name,
 * `weight_scale_inv` is the multiplier: w ≈ e4m3(code) × weight_scale_inv.
 */
import { E4M3_DECODE, E4M3_MAX, f32ArrayToE4m3 } from '../formats/e4m3.js';
import { checkQuantShape } from './check-shape.js';

export const FP8_BLOCK = 128;

export interface BlockFp8Weights {
  /** E4M3 codes, [rows, cols] row-major. */
  readonly codes: Uint8Array;
  /** Per-block multipliers, [scaleRows, scaleCols] row-major. */
  readonly scaleInv: Float32Array;
  readonly scaleRows: number;
  readonly scaleCols: number;
}

/**
 * Scale for a block whose amax/448 is 0 in float32 (an all-zero block, or amax below ~6e-43). Any positive
 * scale maps zeros to code 0 and back to exactly 0 (signs kept), so pick 1: it is exact, finite, and reads as
 * "no scaling" in a dump. DeepSeek's reference quantiser would produce 0/0 = NaN here.
 */
export const ZERO_BLOCK_SCALE = 1;

/**
 * Quantises float32 weights per block: scale = amax / 448 (rounded to float32, as stored on disk), then
 * codes = e4m3(w / scale) with round to nearest even. The block's amax element lands on ±448 (code 0x7e/0xfe).
 * NaN weights are skipped for amax and encode to NaN codes.
 */
export function quantizeBlockFp8(weights: Float32Array, rows: number, cols: number, block = FP8_BLOCK): BlockFp8Weights {
  checkQuantShape(weights.length, rows, cols, block, 'block');
  const scaleRows = Math.ceil(rows / block);
  const scaleCols = Math.ceil(cols / block);

  const amax = new Float32Array(scaleRows * scaleCols);
  for (let r = 0; r < rows; r++) {
    const base = ((r / block) | 0) * scaleCols;
    for (let c = 0; c < cols; c++) {
      const a = Math.abs(weights[r * cols + c]!);
      if (a > amax[base + ((c / block) | 0)]!) amax[base + ((c / block) | 0)] = a;
    }
  }

  const scaleInv = new Float32Array(amax.length);
  for (let i = 0; i < amax.length; i++) {
    const s = Math.fround(amax[i]! / E4M3_MAX);
    scaleInv[i] = s > 0 ? s : ZERO_BLOCK_SCALE;
  }

  // Divide (not multiply by a reciprocal) by the stored float32 scale, into a float32 row, as a GPU quantiser
  // would; the E4M3 rounding then sees the same float32 quotient.
  const codes = new Uint8Array(rows * cols);
  const quotient = new Float32Array(cols);
  for (let r = 0; r < rows; r++) {
    const base = ((r / block) | 0) * scaleCols;
    for (let c = 0; c < cols; c++) quotient[c] = weights[r * cols + c]! / scaleInv[base + ((c / block) | 0)]!;
    f32ArrayToE4m3(quotient, codes.subarray(r * cols, (r + 1) * cols));
  }
  return { codes, scaleInv, scaleRows, scaleCols };
}

export function dequantizeBlockFp8(
  codes: Uint8Array,
  scaleInv: Float32Array,
  rows: number,
  cols: number,
  block = FP8_BLOCK,
): Float32Array {
  checkQuantShape(codes.length, rows, cols, block, 'block');
  const scaleCols = Math.ceil(cols / block);
  const expected = Math.ceil(rows / block) * scaleCols;
  if (scaleInv.length !== expected) {
    throw new RangeError(`scaleInv has ${scaleInv.length} entries, expected ${expected} for [${rows}, ${cols}]`);
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = ((r / block) | 0) * scaleCols;
    for (let c = 0; c < cols; c++) {
      out[r * cols + c] = E4M3_DECODE[codes[r * cols + c]!]! * scaleInv[base + ((c / block) | 0)]!;
    }
  }
  return out;
}
