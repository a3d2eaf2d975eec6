import { open, rename, rm } from 'node:fs/promises';
import { ModelFileError } from '../errors.js';
import { SAFETENSORS_DTYPE_BYTES, SUPPORTED_DTYPES, elementCount, formatShape, isSupportedDType } from './dtype.js';
import type { NewTensor } from './reader.js';

/** Writes are split into chunks of this size. */
const WRITE_CHUNK_BYTES = 1 << 30;

/** Code-point order (not locale order), so output does not depend on the machine. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Checks names, dtypes and byte lengths; returns the tensors sorted by name. */
export function checkNewTensors(file: string, tensors: readonly NewTensor[]): NewTensor[] {
  const seen = new Set<string>();
  for (const tensor of tensors) {
    const { name, dtype, shape, data } = tensor;
    if (name === '' || name === '__metadata__') {
      throw new ModelFileError(file, `invalid tensor name ${JSON.stringify(name)}`, {
        fix: 'give the tensor a non-empty name other than __metadata__',
      });
    }
    if (seen.has(name)) {
      throw new ModelFileError(file, 'tensor name given twice', { tensor: name, fix: 'pass each tensor once' });
    }
    seen.add(name);
    if (!isSupportedDType(dtype)) {
      throw new ModelFileError(file, `unsupported dtype '${String(dtype)}' (supported: ${SUPPORTED_DTYPES.join(', ')})`, {
        tensor: name,
        fix: 'convert the tensor to one of the supported dtypes',
      });
    }
    if (!shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) {
      throw new ModelFileError(file, `shape ${formatShape(shape)} has a dimension that is not a non-negative integer`, {
        tensor: name,
        fix: 'fix the shape',
      });
    }
    const count = elementCount(shape);
    const expected = count === null ? null : count * SAFETENSORS_DTYPE_BYTES[dtype];
    if (expected !== data.byteLength) {
      throw new ModelFileError(
        file,
        `shape ${formatShape(shape)} × ${dtype} needs ${expected ?? 'too many'} bytes but data has ${data.byteLength}`,
        { tensor: name, fix: 'pass data whose length matches the shape and dtype' },
      );
    }
  }
  return [...tensors].sort((a, b) => compareNames(a.name, b.name));
}

/**
 * The header bytes for tensors (already sorted), padded with spaces so the data section starts 8-byte aligned.
 * Keys are written in order: `__metadata__` (if any), then tensors in the given order, each tensor's data
 * immediately after the previous one (no gaps, as the reference implementation requires).
 */
export function encodeHeader(sorted: readonly NewTensor[], metadata?: Readonly<Record<string, string>>): Uint8Array {
  const parts: string[] = [];
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    const keys = Object.keys(metadata).sort(compareNames);
    const entries = keys.map((key) => `${JSON.stringify(key)}:${JSON.stringify(metadata[key])}`);
    parts.push(`"__metadata__":{${entries.join(',')}}`);
  }
  let offset = 0;
  for (const tensor of sorted) {
    const end = offset + tensor.data.byteLength;
    const entry = { dtype: tensor.dtype, shape: [...tensor.shape], data_offsets: [offset, end] };
    parts.push(`${JSON.stringify(tensor.name)}:${JSON.stringify(entry)}`);
    offset = end;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const header = new Uint8Array(8 + padded).fill(0x20, 8 + json.byteLength);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  return header;
}

/**
 * Writes a .safetensors file. Output is deterministic: tensors sorted by name (code-point order; the Python
 * library sorts by dtype alignment first, which we do not: readers here copy each tensor into its own aligned
 * buffer, so per-tensor alignment inside the file does not matter), metadata keys sorted, header padded with
 * spaces to a multiple of 8 bytes. The file is written to `path + '.partial'` and renamed into place, so a crash
 * never leaves a half-written file under the real name.
 */
export async function writeSafetensors(
  path: string,
  tensors: readonly NewTensor[],
  metadata?: Readonly<Record<string, string>>,
): Promise<void> {
  const sorted = checkNewTensors(path, tensors);
  if (metadata !== undefined) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') {
        throw new ModelFileError(path, `metadata '${key}' must be a string, got ${typeof value}`, {
          fix: 'safetensors metadata maps strings to strings: stringify the value',
        });
      }
    }
  }
  const header = encodeHeader(sorted, metadata);
  const partial = `${path}.partial`;
  const handle = await open(partial, 'w');
  try {
    let position = 0;
    const write = async (bytes: Uint8Array): Promise<void> => {
      let done = 0;
      while (done < bytes.byteLength) {
        const length = Math.min(WRITE_CHUNK_BYTES, bytes.byteLength - done);
        const { bytesWritten } = await handle.write(bytes, done, length, position);
        done += bytesWritten;
        position += bytesWritten;
      }
    };
    await write(header);
    for (const tensor of sorted) await write(tensor.data);
    await handle.sync();
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(partial, { force: true });
    throw error;
  }
  await rename(partial, path);
}
