/**
 * ModelFiles served over HTTP(S), for browsers (and Node, whose global fetch is the same API). Tensor data is read
 * with `Range: bytes=a-b` requests, so a checkpoint is never downloaded whole; the server must honour Range (any
 * static file server does: nginx, `python -m http.server` does not, `npx http-server` does). Sizes come from a
 * `Range: bytes=0-0` probe (its Content-Range gives the total), which also checks Range support before any tensor
 * is read. From another origin the server must also allow it with CORS and expose the header
 * (`Access-Control-Expose-Headers: Content-Range`), else the browser hides it. Browser-safe: no `node:*` import.
 */
import { ModelFileError } from '../errors.js';
import { codedError, errorMessage, type ModelFiles } from './model-files.js';

/** Range requests are split into chunks of this size, so a 778 MB tensor is not one response in memory. */
export const HTTP_RANGE_CHUNK_BYTES = 64 << 20;

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

const FIX_RANGE =
  'serve the model directory with a server that supports HTTP Range requests (206 Partial Content), e.g. nginx, Caddy or `npx http-server`';

/**
 * The files under `baseUrl` (a directory URL; a trailing '/' is optional). `fetchImpl` defaults to the global fetch.
 * A 404 is an error with code 'ENOENT' naming the URL; a server that answers a Range request with the whole file
 * is a ModelFileError naming the URL.
 */
export function httpModelFiles(baseUrl: string, fetchImpl: FetchLike = (input, init) => fetch(input, init)): ModelFiles {
  return new HttpModelFiles(baseUrl, fetchImpl);
}

/**
 * Reads and drops a small body (a 1-byte probe, an error page), so the connection is reused; cancelling instead
 * makes browsers log the request as failed (net::ERR_ABORTED). Whole files sent in answer to a Range request are
 * cancelled, not drained.
 */
async function drain(response: Response): Promise<void> {
  await response.arrayBuffer().catch(() => undefined);
}

class HttpModelFiles implements ModelFiles {
  readonly #base: string;
  readonly #sizes = new Map<string, Promise<number>>();

  constructor(
    readonly location: string,
    private readonly fetchImpl: FetchLike,
  ) {
    try {
      this.#base = new URL(location.endsWith('/') ? location : `${location}/`).href;
    } catch {
      throw new TypeError(`httpModelFiles: '${location}' is not an absolute URL (expected e.g. http://host/models/qwen3/)`);
    }
  }

  pathOf(name: string): string {
    return new URL(name.split('/').map(encodeURIComponent).join('/'), this.#base).href;
  }

  async #fetch(name: string, init: RequestInit): Promise<Response> {
    const url = this.pathOf(name);
    let response: Response;
    try {
      response = await this.fetchImpl(url, init);
    } catch (error) {
      throw codedError('EHTTP', `${init.method ?? 'GET'} ${url} failed (${errorMessage(error)})`, error);
    }
    if (response.status === 404 || response.status === 410) {
      await drain(response);
      throw codedError('ENOENT', `${url}: HTTP ${response.status} ${response.statusText || 'Not Found'}`.trim());
    }
    return response;
  }

  async #httpError(url: string, response: Response, what: string): Promise<Error> {
    await drain(response);
    return codedError('EHTTP', `${url}: HTTP ${response.status} ${response.statusText}`.trim() + ` (${what})`);
  }

  async exists(name: string): Promise<boolean> {
    try {
      const response = await this.#fetch(name, { method: 'HEAD' });
      if (response.ok) {
        await drain(response);
        return true;
      }
      throw await this.#httpError(this.pathOf(name), response, 'HEAD');
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') return false;
      throw error;
    }
  }

  async readText(name: string): Promise<string> {
    const response = await this.#fetch(name, {});
    if (!response.ok) throw await this.#httpError(this.pathOf(name), response, 'GET');
    return response.text();
  }

  size(name: string): Promise<number> {
    let size = this.#sizes.get(name);
    if (size === undefined) {
      size = this.#probeSize(name);
      this.#sizes.set(name, size);
      size.catch(() => {
        if (this.#sizes.get(name) === size) this.#sizes.delete(name);
      });
    }
    return size;
  }

  async #probeSize(name: string): Promise<number> {
    const url = this.pathOf(name);
    const response = await this.#fetch(name, { headers: { Range: 'bytes=0-0' } });
    const contentRange = response.headers.get('content-range');
    if (response.status === 206 || response.status === 416) {
      await drain(response);
      const total = /\/\s*(\d+)\s*$/.exec(contentRange ?? '');
      if (total === null) {
        throw new ModelFileError(url, `the server answered a Range request with HTTP ${response.status} but no usable Content-Range ('${contentRange ?? ''}')`, {
          fix: `${FIX_RANGE}; when the model is on another origin, the server must send Access-Control-Expose-Headers: Content-Range`,
        });
      }
      return Number(total[1]);
    }
    if (response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new ModelFileError(url, `the server does not honour HTTP Range requests (asked for bytes=0-0, got HTTP ${response.status} with the whole file)`, {
        fix: FIX_RANGE,
      });
    }
    throw await this.#httpError(url, response, 'GET bytes=0-0');
  }

  async readRange(name: string, offset: number, length: number): Promise<Uint8Array> {
    const target = new Uint8Array(length);
    await this.readInto(name, offset, target);
    return target;
  }

  async readInto(name: string, offset: number, target: Uint8Array): Promise<void> {
    let done = 0;
    while (done < target.byteLength) {
      const length = Math.min(HTTP_RANGE_CHUNK_BYTES, target.byteLength - done);
      await this.#readChunk(name, offset + done, target.subarray(done, done + length), offset, target.byteLength);
      done += length;
    }
  }

  async #readChunk(name: string, start: number, into: Uint8Array, wantedFrom: number, wantedBytes: number): Promise<void> {
    const url = this.pathOf(name);
    const end = start + into.byteLength - 1;
    const response = await this.#fetch(name, { headers: { Range: `bytes=${start}-${end}` } });
    const shortRead = (at: number): ModelFileError =>
      new ModelFileError(url, `unexpected end of file at byte ${at} (wanted ${wantedBytes} bytes from ${wantedFrom})`, {
        fix: 'the file on the server is shorter than its safetensors header says (changed while open?): upload or export it again',
      });
    if (response.status === 416) {
      await drain(response);
      throw shortRead(start);
    }
    if (response.status === 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new ModelFileError(url, `the server does not honour HTTP Range requests (asked for bytes=${start}-${end}, got HTTP 200 with the whole file)`, {
        fix: FIX_RANGE,
      });
    }
    if (response.status !== 206) throw await this.#httpError(url, response, `GET bytes=${start}-${end}`);
    const contentRange = response.headers.get('content-range') ?? '';
    const range = /^\s*bytes\s+(\d+)-(\d+)\//i.exec(contentRange);
    if (range === null || Number(range[1]) !== start) {
      await response.body?.cancel().catch(() => undefined);
      throw new ModelFileError(url, `asked for bytes=${start}-${end} but the server sent Content-Range '${contentRange}'`, { fix: FIX_RANGE });
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.byteLength > into.byteLength) {
      throw new ModelFileError(url, `asked for ${into.byteLength} bytes (bytes=${start}-${end}) but the server sent ${bytes.byteLength}`, { fix: FIX_RANGE });
    }
    into.set(bytes);
    if (bytes.byteLength < into.byteLength) throw shortRead(start + bytes.byteLength);
  }
}
