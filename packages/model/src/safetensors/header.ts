import { z } from 'zod';
import { ModelFileError } from '../errors.js';
import {
  SAFETENSORS_DTYPE_BYTES,
  SUPPORTED_DTYPES,
  elementCount,
  formatShape,
  isSupportedDType,
  type SafetensorsDType,
} from './dtype.js';
import { formatZodIssues } from './zod-issues.js';

/** Largest header accepted (the same limit as the reference Rust implementation). */
export const MAX_HEADER_BYTES = 100_000_000;

/** What the header says about one tensor, plus where its bytes lie in the file. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly byteLength: number;
  /** Absolute byte offset of the tensor's first byte in `file`. */
  readonly fileOffset: number;
  /** Path of the safetensors file that holds the tensor. */
  readonly file: string;
}

export interface ParsedHeader {
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
}

const tensorEntrySchema = z.strictObject({
  dtype: z.string(),
  shape: z.array(z.int().nonnegative()),
  data_offsets: z.tuple([z.int().nonnegative(), z.int().nonnegative()]),
});

const metadataSchema = z.record(z.string(), z.string());

const FIX_REWRITE = 're-download or re-export the file; it is damaged or was not written by a safetensors writer';

/**
 * Validates a decoded header against the file it came from.
 * @param headerBytes the N header bytes (after the 8-byte length)
 * @param fileSize total size of the file in bytes
 */
export function parseHeader(file: string, headerBytes: Uint8Array, fileSize: number): ParsedHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new ModelFileError(file, 'safetensors header is not valid UTF-8', { fix: FIX_REWRITE });
  }
  if (!text.startsWith('{')) {
    throw new ModelFileError(
      file,
      `safetensors header should be a JSON object starting with '{' but starts with ${JSON.stringify(text.slice(0, 16))}`,
      { fix: `check that this is a .safetensors file; ${FIX_REWRITE}` },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ModelFileError(
      file,
      `safetensors header is not valid JSON (${(error as Error).message})`,
      { fix: FIX_REWRITE },
    );
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new ModelFileError(file, 'safetensors header should be a JSON object', { fix: FIX_REWRITE });
  }

  const dataStart = 8 + headerBytes.byteLength;
  const dataSize = fileSize - dataStart;
  let metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  const ranges: { name: string; begin: number; end: number }[] = [];

  for (const [name, entry] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      const parsed = metadataSchema.safeParse(entry);
      if (!parsed.success) {
        throw new ModelFileError(
          file,
          `safetensors __metadata__ should map strings to strings: ${formatZodIssues(parsed.error, entry, '__metadata__').join('; ')}`,
          { fix: FIX_REWRITE },
        );
      }
      metadata = parsed.data;
      continue;
    }
    const parsed = tensorEntrySchema.safeParse(entry);
    if (!parsed.success) {
      throw new ModelFileError(
        file,
        `bad header entry, expected {dtype, shape, data_offsets: [begin, end]}: ${formatZodIssues(parsed.error, entry).join('; ')}`,
        { tensor: name, fix: FIX_REWRITE },
      );
    }
    const { dtype, shape, data_offsets: [begin, end] } = parsed.data;
    if (!isSupportedDType(dtype)) {
      throw new ModelFileError(
        file,
        `unsupported dtype '${dtype}' (supported: ${SUPPORTED_DTYPES.join(', ')})`,
        { tensor: name, fix: `convert the tensor to BF16 (or F32) before using it with quantbench` },
      );
    }
    if (end < begin) {
      throw new ModelFileError(file, `data_offsets [${begin}, ${end}] end before they begin`, {
        tensor: name,
        fix: FIX_REWRITE,
      });
    }
    const count = elementCount(shape);
    const expectedBytes = count === null ? null : count * SAFETENSORS_DTYPE_BYTES[dtype];
    if (expectedBytes === null || !Number.isSafeInteger(expectedBytes)) {
      throw new ModelFileError(file, `shape ${formatShape(shape)} is too large`, { tensor: name, fix: FIX_REWRITE });
    }
    const byteLength = end - begin;
    if (byteLength !== expectedBytes) {
      throw new ModelFileError(
        file,
        `shape ${formatShape(shape)} × ${dtype} (${SAFETENSORS_DTYPE_BYTES[dtype]} B) needs ${expectedBytes} bytes but data_offsets [${begin}, ${end}] cover ${byteLength}`,
        { tensor: name, fix: FIX_REWRITE },
      );
    }
    if (end > dataSize) {
      const truncated = dataStart + end > fileSize;
      throw new ModelFileError(
        file,
        `data_offsets [${begin}, ${end}] run past the end of the data section (${Math.max(dataSize, 0)} bytes; the file is ${fileSize} bytes, this tensor needs ${dataStart + end})${truncated ? ': the file is truncated' : ''}`,
        { tensor: name, fix: 'the file is incomplete (an interrupted download or copy?): download or export it again' },
      );
    }
    tensors.set(name, { name, dtype, shape, byteLength, fileOffset: dataStart + begin, file });
    ranges.push({ name, begin, end });
  }

  // Overlaps: sort by start; each non-empty range must begin at or after the furthest end seen so far.
  ranges.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let furthest: { name: string; end: number } | null = null;
  for (const range of ranges) {
    if (range.end === range.begin) continue;
    if (furthest !== null && range.begin < furthest.end) {
      throw new ModelFileError(
        file,
        `data_offsets [${range.begin}, ${range.end}] overlap tensor '${furthest.name}' (which ends at ${furthest.end}); tensors must not share bytes`,
        { tensor: range.name, fix: FIX_REWRITE },
      );
    }
    if (furthest === null || range.end > furthest.end) furthest = { name: range.name, end: range.end };
  }

  return { metadata, tensors };
}
