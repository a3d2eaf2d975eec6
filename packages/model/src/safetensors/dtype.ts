import { DTYPE_BYTES, type DType } from '@quantbench/core';

/** The safetensors dtypes quantbench reads and writes: `DType` of `@quantbench/core`. */
export type SafetensorsDType = DType;

/** Bytes per element of each supported dtype. */
export const SAFETENSORS_DTYPE_BYTES: Readonly<Record<SafetensorsDType, number>> = DTYPE_BYTES;

export const SUPPORTED_DTYPES: readonly SafetensorsDType[] = Object.keys(DTYPE_BYTES) as SafetensorsDType[];

export function isSupportedDType(value: unknown): value is SafetensorsDType {
  return typeof value === 'string' && Object.hasOwn(SAFETENSORS_DTYPE_BYTES, value);
}

/**
 * Element count of a shape (1 for a scalar `[]`), or null if it is not a safe integer (absurd shapes must not
 * silently lose precision).
 */
export function elementCount(shape: readonly number[]): number | null {
  let count = 1;
  for (const dim of shape) {
    count *= dim;
    if (!Number.isSafeInteger(count)) return null;
  }
  return count;
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
