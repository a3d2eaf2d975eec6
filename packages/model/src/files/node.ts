/**
 * ModelFiles on the local file system (Node only: this is the one module of the reading path that imports
 * `node:*`; the reading functions load it lazily through the `#node-model-files` import when given a path).
 */
import { open, readdir, readFile, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelFileError } from '../errors.js';
import { READ_CHUNK_BYTES } from '../safetensors/reader.js';
import { codedError, type ModelFiles } from './model-files.js';

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
 * The files of directory `dir`. Files read by range (safetensors) are opened once and their handles kept until
 * `close()`; a file that is not a regular file is an error with code 'EISDIR'. Errors of the file system (ENOENT …)
 * pass through unchanged.
 */
export function nodeModelFiles(dir: string): ModelFiles {
  return new NodeModelFiles(dir);
}

class NodeModelFiles implements ModelFiles {
  readonly #handles = new Map<string, Promise<{ handle: FileHandle; size: number }>>();
  #closed = false;

  constructor(readonly location: string) {}

  pathOf(name: string): string {
    return join(this.location, name);
  }

  async exists(name: string): Promise<boolean> {
    try {
      await stat(this.pathOf(name));
      return true;
    } catch {
      return false;
    }
  }

  async list(): Promise<string[]> {
    return readdir(this.location);
  }

  async readText(name: string): Promise<string> {
    return readFile(this.pathOf(name), 'utf8');
  }

  #open(name: string): Promise<{ handle: FileHandle; size: number }> {
    if (this.#closed) return Promise.reject(new Error(`${this.pathOf(name)}: read after close()`));
    let opened = this.#handles.get(name);
    if (opened === undefined) {
      const path = this.pathOf(name);
      opened = (async () => {
        const handle = await open(path, 'r');
        try {
          const stats = await handle.stat();
          if (!stats.isFile()) throw codedError('EISDIR', `${path}: is not a regular file`);
          return { handle, size: stats.size };
        } catch (error) {
          await handle.close().catch(() => undefined);
          throw error;
        }
      })();
      this.#handles.set(name, opened);
      // A failed open is not cached: the next call tries again.
      opened.catch(() => {
        if (this.#handles.get(name) === opened) this.#handles.delete(name);
      });
    }
    return opened;
  }

  async size(name: string): Promise<number> {
    return (await this.#open(name)).size;
  }

  async readRange(name: string, offset: number, length: number): Promise<Uint8Array> {
    const target = new Uint8Array(length);
    await this.readInto(name, offset, target);
    return target;
  }

  async readInto(name: string, offset: number, target: Uint8Array): Promise<void> {
    const { handle } = await this.#open(name);
    await readFully(handle, this.pathOf(name), offset, target);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const handles = [...this.#handles.values()];
    this.#handles.clear();
    await Promise.all(
      handles.map(async (opened) => {
        const result = await opened.catch(() => null);
        if (result !== null) await result.handle.close();
      }),
    );
  }
}
