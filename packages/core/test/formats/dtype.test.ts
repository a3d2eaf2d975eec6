import { describe, expect, it } from 'vitest';
import { DTYPE_BYTES, decodeToF32, encodeFromF32, isDType } from '../../src/formats/dtype.js';
import type { DType } from '../../src/formats/dtype.js';

const DTYPES: DType[] = ['BF16', 'F16', 'F32', 'F8_E4M3'];

describe('dtype', () => {
  it('knows the safetensors dtype strings and their sizes', () => {
    expect(DTYPE_BYTES).toEqual({ BF16: 2, F16: 2, F32: 4, F8_E4M3: 1 });
    for (const d of DTYPES) expect(isDType(d)).toBe(true);
    for (const s of ['bf16', 'F8_E5M2', 'I64', '', 'toString', 'constructor']) expect(isDType(s)).toBe(false);
  });

  it('reads little-endian bytes', () => {
    expect([...decodeToF32('BF16', Uint8Array.of(0x80, 0x3f, 0x00, 0xc0))]).toEqual([1, -2]);
    expect([...decodeToF32('F16', Uint8Array.of(0x00, 0x3c, 0x00, 0xb8))]).toEqual([1, -0.5]);
    expect([...decodeToF32('F32', Uint8Array.of(0x00, 0x00, 0x80, 0x3f))]).toEqual([1]);
    expect([...decodeToF32('F8_E4M3', Uint8Array.of(0x38, 0xfe, 0x01))]).toEqual([1, -448, 2 ** -9]);
  });

  it('writes little-endian bytes', () => {
    const v = Float32Array.of(1, -2);
    expect([...encodeFromF32('BF16', v)]).toEqual([0x80, 0x3f, 0x00, 0xc0]);
    expect([...encodeFromF32('F16', v)]).toEqual([0x00, 0x3c, 0x00, 0xc0]);
    expect([...encodeFromF32('F32', v)]).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
    expect([...encodeFromF32('F8_E4M3', Float32Array.of(1, 1000))]).toEqual([0x38, 0x7e]);
  });

  it('round-trips values representable in each dtype', () => {
    const values = Float32Array.of(0, -0, 1, -1.5, 0.25, 3, -448, 2 ** -9);
    for (const d of DTYPES) {
      const bytes = encodeFromF32(d, values);
      expect(bytes.length).toBe(values.length * DTYPE_BYTES[d]);
      expect(decodeToF32(d, bytes)).toEqual(values);
    }
  });

  it('decodes from an unaligned byteOffset', () => {
    const values = Float32Array.of(1.5, -2, 0.125, 7);
    for (const d of DTYPES) {
      const bytes = encodeFromF32(d, values);
      const backing = new Uint8Array(bytes.length + 3);
      backing.set(bytes, 1);
      const unaligned = backing.subarray(1, 1 + bytes.length);
      expect(decodeToF32(d, unaligned)).toEqual(values);
    }
  });

  it('encodes from a Float32Array view with an offset', () => {
    const backing = Float32Array.of(9, 9, 1, 2);
    expect(decodeToF32('F32', encodeFromF32('F32', backing.subarray(2)))).toEqual(Float32Array.of(1, 2));
    expect(decodeToF32('BF16', encodeFromF32('BF16', backing.subarray(2)))).toEqual(Float32Array.of(1, 2));
  });

  it('returns fresh arrays that do not alias the input', () => {
    const bytes = encodeFromF32('F32', Float32Array.of(1, 2));
    const decoded = decodeToF32('F32', bytes);
    decoded[0] = 42;
    expect(decodeToF32('F32', bytes)[0]).toBe(1);
    const source = Float32Array.of(3);
    const encoded = encodeFromF32('F32', source);
    source[0] = 4;
    expect(decodeToF32('F32', encoded)[0]).toBe(3);
  });

  it('rejects a byte count that is not a whole number of values', () => {
    expect(() => decodeToF32('BF16', new Uint8Array(3))).toThrow(RangeError);
    expect(() => decodeToF32('F32', new Uint8Array(6))).toThrow(RangeError);
    expect(decodeToF32('F32', new Uint8Array(0))).toHaveLength(0);
  });
});
