import { open, type FileHandle } from 'node:fs/promises';
import { ModelFileError } from '../errors.js';
import type { SafetensorsDType } from './dtype.js';
import { MAX_HEADER_BYTES, parseHeader, type TensorInfo } from './header.js';

/** Reads are split into chunks of this size (positional reads must stay below 2 GiB). */
export const READ_CHUNK_BYTES = 1 << 30;

/** Tensors that can be read by name: one safetensors file, or a sharded checkpoint directory. */
export interface TensorSource {
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** A fresh buffer (own ArrayBuffer, so 8-byte aligned) with exactly the tensor's bytes. */
  read(name: string): Promise<Uint8Array>;
  /** Reads the tensor's bytes into `target`, whose length must equal the tensor's byteLength. */
  readInto(name: string, target: Uint8Array): Promise<void>;
  /** Closes the file handle(s); idempotent. Reads after close throw. */
  close(): Promise<void>;
}

export interface SafetensorsFile extends TensorSource {
  readonly path: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** Size of the whole file in bytes. */
  readonly fileSize: number;
}

export interface NewTensor {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

/**
 * Fills `target` from `position` in chunks below 2 GiB, retrying short reads; a read that hits end of file
 * (the file shrank after it was opened) is a ModelFileError.
 */
export async function readFully(
  handle: FileHandle,
  file: string,
  position: number,
  target: Uint8Array,
  tensor?: string,
): Promise<void> {
  let done = 0;
  while (done < target.byteLength) {
    const length = Math.min(READ_CHUNK_BYTES, target.byteLength - done);
    const { bytesRead } = await handle.read(target, done, length, position + done);
    if (bytesRead === 0) {
      throw new ModelFileError(
        file,
        `unexpected end of file at byte ${position + done} (wanted ${target.byteLength} bytes from ${position})`,
        { ...(tensor === undefined ? {} : { tensor }), fix: 'the file was truncated or changed while open: download or export it again' },
      );
    }
    done += bytesRead;
  }
}

/**
 * Opens a .safetensors file and validates its header (only the header is read): length, UTF-8 JSON, dtypes,
 * shape × dtype size = byte length, offsets inside the data section (so truncated files fail here), and no
 * overlapping tensors. Gaps between tensors are allowed.
 */
export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ModelFileError(path, code === 'ENOENT' ? 'file not found' : `cannot open (${(error as Error).message})`, {
      fix: code === 'ENOENT' ? 'check the path, or download the checkpoint' : 'check the file permissions',
    });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new ModelFileError(path, 'is not a regular file', { fix: 'point to a .safetensors file' });
    const fileSize = stats.size;
    if (fileSize < 8) {
      throw new ModelFileError(path, `file is ${fileSize} bytes, too short for the 8-byte safetensors header length`, {
        fix: 'the file is empty or truncated: download or export it again',
      });
    }
    const lengthBytes = new Uint8Array(8);
    await readFully(handle, path, 0, lengthBytes);
    const headerLength = new DataView(lengthBytes.buffer).getBigUint64(0, true);
    if (headerLength < 2n || headerLength > BigInt(MAX_HEADER_BYTES)) {
      throw new ModelFileError(
        path,
        `safetensors header length is ${headerLength} bytes; expected 2 to ${MAX_HEADER_BYTES}`,
        { fix: 'this is not a safetensors file, or its first 8 bytes are damaged' },
      );
    }
    const headerBytes = Number(headerLength);
    if (8 + headerBytes > fileSize) {
      throw new ModelFileError(
        path,
        `safetensors header length is ${headerBytes} bytes but the file is only ${fileSize} bytes (needs at least ${8 + headerBytes})`,
        { fix: 'the file is truncated or not a safetensors file: download or export it again' },
      );
    }
    const header = new Uint8Array(headerBytes);
    await readFully(handle, path, 8, header);
    const { metadata, tensors } = parseHeader(path, header, fileSize);
    return new SafetensorsFileImpl(path, handle, fileSize, metadata, tensors);
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

class SafetensorsFileImpl implements SafetensorsFile {
  #handle: FileHandle | null;

  constructor(
    readonly path: string,
    handle: FileHandle,
    readonly fileSize: number,
    readonly metadata: Readonly<Record<string, string>>,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
  ) {
    this.#handle = handle;
  }

  #info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (info === undefined) {
      throw new ModelFileError(this.path, 'no such tensor in this file', {
        tensor: name,
        fix: 'check the tensor name (names are case-sensitive)',
      });
    }
    return info;
  }

  async read(name: string): Promise<Uint8Array> {
    const info = this.#info(name);
    const target = new Uint8Array(info.byteLength);
    await this.readInto(name, target);
    return target;
  }

  async readInto(name: string, target: Uint8Array): Promise<void> {
    const info = this.#info(name);
    if (target.byteLength !== info.byteLength) {
      throw new RangeError(
        `${this.path}: tensor '${name}' is ${info.byteLength} bytes but the target buffer is ${target.byteLength} bytes`,
      );
    }
    const handle = this.#handle;
    if (handle === null) throw new Error(`${this.path}: read of tensor '${name}' after close()`);
    await readFully(handle, this.path, info.fileOffset, target, name);
  }

  async close(): Promise<void> {
    const handle = this.#handle;
    this.#handle = null;
    if (handle !== null) await handle.close();
  }
}
