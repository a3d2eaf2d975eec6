/**
 * The safetensors dtypes quantbench reads and writes, with conversions between their little-endian bytes and
 * float32.
 */
import { bf16ArrayToF32, f32ArrayToBf16 } from './bf16.js';
import { e4m3ArrayToF32, f32ArrayToE4m3 } from './e4m3.js';
import { f32ArrayToFp16, fp16ArrayToF32 } from './fp16.js';

export type DType = 'BF16' | 'F16' | 'F32' | 'F8_E4M3';

export const DTYPE_BYTES: Record<DType, number> = { BF16: 2, F16: 2, F32: 4, F8_E4M3: 1 };

export function isDType(s: string): s is DType {
  return Object.hasOwn(DTYPE_BYTES, s);
}

// Typed arrays use the host's byte order; safetensors is little-endian. Every platform Node ships for in
// practice is little-endian, so refuse loudly rather than carry a byte-swapping path nobody runs.
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function checkHost(): void {
  if (!HOST_LITTLE_ENDIAN) throw new Error('quantbench formats need a little-endian host');
}

/** Typed-array views need their byteOffset aligned to the element size; copy when it is not. */
function aligned(bytes: Uint8Array, size: number): Uint8Array {
  return bytes.byteOffset % size === 0 ? bytes : bytes.slice();
}

/** Decodes little-endian tensor bytes into a new Float32Array (never a view of `bytes`). */
export function decodeToF32(dtype: DType, bytes: Uint8Array): Float32Array {
  checkHost();
  const size = DTYPE_BYTES[dtype];
  if (bytes.length % size !== 0) {
    throw new RangeError(`${bytes.length} bytes is not a whole number of ${dtype} values (${size} bytes each)`);
  }
  const n = bytes.length / size;
  switch (dtype) {
    case 'F8_E4M3':
      return e4m3ArrayToF32(bytes);
    case 'BF16': {
      const b = aligned(bytes, 2);
      return bf16ArrayToF32(new Uint16Array(b.buffer, b.byteOffset, n));
    }
    case 'F16': {
      const b = aligned(bytes, 2);
      return fp16ArrayToF32(new Uint16Array(b.buffer, b.byteOffset, n));
    }
    case 'F32':
      // slice() both copies and aligns.
      return new Float32Array(bytes.slice().buffer);
  }
}

/** Encodes float32 values as little-endian bytes of `dtype` (round to nearest even; E4M3 saturates). */
export function encodeFromF32(dtype: DType, values: Float32Array): Uint8Array {
  checkHost();
  switch (dtype) {
    case 'F8_E4M3':
      return f32ArrayToE4m3(values);
    case 'BF16': {
      const out = f32ArrayToBf16(values);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    }
    case 'F16': {
      const out = f32ArrayToFp16(values);
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    }
    case 'F32':
      return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
  }
}
