import { ModelFileError } from '../errors.js';
import {
  errorCode,
  errorMessage,
  modelFilePath,
  openModelSource,
  readModelFileInto,
  splitPath,
  type ModelFiles,
  type ModelSource,
} from '../files/model-files.js';
import type { SafetensorsDType } from './dtype.js';
import { MAX_HEADER_BYTES, parseHeader, type TensorInfo } from './header.js';

/** Reads from disk are split into chunks of this size (positional reads must stay below 2 GiB). */
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

/** Reads `target.byteLength` bytes of `name` from `position`, naming the tensor in a short-read error. */
async function readAt(files: ModelFiles, name: string, position: number, target: Uint8Array, tensor?: string): Promise<void> {
  try {
    await readModelFileInto(files, name, position, target);
  } catch (error) {
    if (error instanceof ModelFileError && tensor !== undefined && error.options.tensor === undefined) {
      throw new ModelFileError(error.file, error.problem, { ...error.options, tensor });
    }
    throw error;
  }
}

/**
 * Opens a .safetensors file and validates its header (only the header is read): length, UTF-8 JSON, dtypes,
 * shape × dtype size = byte length, offsets inside the data section (so truncated files fail here), and no
 * overlapping tensors. Gaps between tensors are allowed.
 *
 * `openSafetensors(path)` reads a file on disk (Node); `openSafetensors(files, name)` reads file `name` of any
 * ModelFiles (e.g. `httpModelFiles(url)` in a browser), which stays open after the SafetensorsFile is closed.
 */
export async function openSafetensors(path: string): Promise<SafetensorsFile>;
export async function openSafetensors(files: ModelFiles, name: string): Promise<SafetensorsFile>;
export async function openSafetensors(source: ModelSource, fileName?: string): Promise<SafetensorsFile> {
  if (typeof source === 'string') {
    const { dir, name } = splitPath(source);
    const { files } = await openModelSource(dir);
    try {
      return await openSafetensorsIn(files, name, true);
    } catch (error) {
      await files.close?.().catch(() => undefined);
      throw error;
    }
  }
  if (fileName === undefined) throw new TypeError('openSafetensors(files, name): the file name is missing');
  return openSafetensorsIn(source, fileName, false);
}

/** Opens file `name` of `files`; with `owned`, closing the SafetensorsFile closes `files`. */
export async function openSafetensorsIn(files: ModelFiles, name: string, owned: boolean): Promise<SafetensorsFile> {
  const path = modelFilePath(files, name);
  let fileSize: number;
  try {
    fileSize = await files.size(name);
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    const code = errorCode(error);
    if (code === 'EISDIR') throw new ModelFileError(path, 'is not a regular file', { fix: 'point to a .safetensors file' });
    throw new ModelFileError(path, code === 'ENOENT' ? 'file not found' : `cannot open (${errorMessage(error)})`, {
      fix: code === 'ENOENT' ? 'check the path, or download the checkpoint' : code === 'EHTTP' ? 'check the URL and the server' : 'check the file permissions',
    });
  }
  if (fileSize < 8) {
    throw new ModelFileError(path, `file is ${fileSize} bytes, too short for the 8-byte safetensors header length`, {
      fix: 'the file is empty or truncated: download or export it again',
    });
  }
  const lengthBytes = new Uint8Array(8);
  await readAt(files, name, 0, lengthBytes);
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
  await readAt(files, name, 8, header);
  const { metadata, tensors } = parseHeader(path, header, fileSize);
  return new SafetensorsFileImpl(path, files, name, owned, fileSize, metadata, tensors);
}

class SafetensorsFileImpl implements SafetensorsFile {
  #files: ModelFiles | null;

  constructor(
    readonly path: string,
    files: ModelFiles,
    private readonly name: string,
    private readonly owned: boolean,
    readonly fileSize: number,
    readonly metadata: Readonly<Record<string, string>>,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
  ) {
    this.#files = files;
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
    const files = this.#files;
    if (files === null) throw new Error(`${this.path}: read of tensor '${name}' after close()`);
    await readAt(files, this.name, info.fileOffset, target, name);
  }

  async close(): Promise<void> {
    const files = this.#files;
    this.#files = null;
    if (files !== null && this.owned) await files.close?.();
  }
}
