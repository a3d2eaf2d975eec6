/**
 * The files of a model directory, wherever they are: on disk (`nodeModelFiles`, Node only) or behind an HTTP
 * server (`httpModelFiles`, Node and browsers). Everything that reads a checkpoint (safetensors, config.json, the
 * tokenizer) goes through this interface, so the same code loads a model in Node and in a browser.
 *
 * This module and the modules that read through it must stay browser-safe: no static `node:*` import.
 */

export interface ModelFiles {
  /** Where the files are, shown in error messages: the directory path or the base URL. */
  readonly location: string;
  /** Whether the file `name` (relative to `location`, '/'-separated) exists. */
  exists(name: string): Promise<boolean>;
  /** Size of the file in bytes. A missing file rejects with an error whose `code` is 'ENOENT'. */
  size(name: string): Promise<number>;
  /** The whole file as UTF-8 text. A missing file rejects with an error whose `code` is 'ENOENT'. */
  readText(name: string): Promise<string>;
  /**
   * Exactly `length` bytes from `offset`, in a fresh buffer. A short read (the file ends before `offset + length`)
   * rejects with a ModelFileError naming the file.
   */
  readRange(name: string, offset: number, length: number): Promise<Uint8Array>;
  /** Releases what the implementation holds open (file handles); idempotent. */
  close?(): Promise<void>;
  /** How `name` is shown in error messages (default `${location}/${name}`). */
  pathOf?(name: string): string;
  /** Reads `target.byteLength` bytes from `offset` straight into `target` (default: readRange, then copy). */
  readInto?(name: string, offset: number, target: Uint8Array): Promise<void>;
  /**
   * The file names in `location`, where the storage can list them (a directory; not HTTP). Used only to make error
   * messages more helpful; a missing location rejects with an error whose `code` is 'ENOENT'.
   */
  list?(): Promise<string[]>;
}

/** What the reading functions accept: a directory path (Node: read with `nodeModelFiles`) or any ModelFiles. */
export type ModelSource = string | ModelFiles;

/** The path or URL of `name` in `files`, for messages and for `TensorInfo.file`. */
export function modelFilePath(files: ModelFiles, name: string): string {
  if (files.pathOf !== undefined) return files.pathOf(name);
  const location = files.location.replace(/\/+$/, '');
  return location === '' ? name : `${location}/${name}`;
}

/** Reads `target.byteLength` bytes from `offset` into `target`, with the implementation's readInto when it has one. */
export async function readModelFileInto(files: ModelFiles, name: string, offset: number, target: Uint8Array): Promise<void> {
  if (files.readInto !== undefined) return files.readInto(name, offset, target);
  const bytes = await files.readRange(name, offset, target.byteLength);
  if (bytes.byteLength !== target.byteLength) {
    throw new Error(`${modelFilePath(files, name)}: readRange returned ${bytes.byteLength} bytes, wanted ${target.byteLength}`);
  }
  target.set(bytes);
}

/** An error meaning "this file does not exist" (Node's ENOENT, HTTP 404). */
export function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT';
}

/** The `code` of an error (Node's errno code, or the one the ModelFiles implementation set), if any. */
export function errorCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An Error with a `code`, as ModelFiles implementations throw for missing files ('ENOENT') and the like. */
export function codedError(code: string, message: string, cause?: unknown): Error & { code: string } {
  const error = new Error(message, cause === undefined ? undefined : { cause }) as Error & { code: string };
  error.code = code;
  return error;
}

/**
 * A directory path or a ModelFiles, opened for reading. A path is opened with `nodeModelFiles`, loaded lazily
 * (dynamic import) so that browser bundles never reach `node:fs`; those files are `owned` and must be closed by
 * the caller. A ModelFiles passed in is used as it is and left open.
 */
export async function openModelSource(source: ModelSource): Promise<{ files: ModelFiles; owned: boolean }> {
  if (typeof source !== 'string') return { files: source, owned: false };
  const { nodeModelFiles } = await import('#node-model-files');
  return { files: nodeModelFiles(source), owned: true };
}

/** Splits a path into its folder and file name at the last '/' (or '\\'): the folder is '.' when there is none. */
export function splitPath(path: string): { dir: string; name: string } {
  const cut = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  if (cut < 0) return { dir: '.', name: path };
  return { dir: cut === 0 ? path.slice(0, 1) : path.slice(0, cut), name: path.slice(cut + 1) };
}
