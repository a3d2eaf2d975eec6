/**
 * WGSL helpers shared by kernels (WGSL has no bf16 or fp8 type, so weights stay packed in u32 words):
 * - BF16: two values per u32, element 2k in the low half (little-endian bytes); a BF16 value is the top half of
 *   an f32, so decoding is a shift.
 * - E4M3 (OCP FP8, bias 7, no infinities): four codes per u32, element 4k + j in byte j. Decoded arithmetically:
 *   subnormals (exponent 0) are m/8 · 2^-6, normals (1 + m/8) · 2^(e−7). 0x7f/0xff (NaN) never occur in weights
 *   quantised from finite values and are not special-cased.
 */
export const FORMATS_WGSL = /* wgsl */ `
fn bf16_at(words: u32, index: u32) -> f32 {
  return bitcast<f32>(select(words << 16u, words & 0xffff0000u, (index & 1u) == 1u));
}

fn e4m3_decode(code: u32) -> f32 {
  let exponent = (code >> 3u) & 0xfu;
  let mantissa = f32(code & 7u);
  let magnitude = select(ldexp(mantissa / 8.0, -6), ldexp(1.0 + mantissa / 8.0, i32(exponent) - 7), exponent != 0u);
  return select(magnitude, -magnitude, (code & 0x80u) != 0u);
}

fn e4m3_at(words: u32, index: u32) -> f32 {
  return e4m3_decode((words >> ((index & 3u) * 8u)) & 0xffu);
}
`;
