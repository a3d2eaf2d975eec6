import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ModelFileError } from '../errors.js';
import { fileSize, incompletePath, type RepoFile } from './cache-layout.js';
import { HubError } from './errors.js';
import { httpError, networkError, throwIfAborted, type HubContext } from './hub-api.js';

/**
 * Resumable download of one file into its blob. The library's downloadFileToCacheDir streams the whole file again on
 * every call and checks nothing, so this does what huggingface_hub does: write to `<blob>.incomplete`, resume it with
 * `Range: bytes=<size on disk>-` (after a retry or in a later run), then verify size and hash before renaming it.
 */
export interface BlobDownload {
  readonly ctx: HubContext;
  /** The file's `/resolve/<commit>/<path>` URL. */
  readonly url: string;
  readonly file: RepoFile;
  /** Final blob path; the partial lives at `<blob>.incomplete`. */
  readonly blob: string;
  /** `fileBytes` now on disk, `transferred` of them just received. */
  readonly onBytes?: (fileBytes: number, transferred: number) => void;
  /** Attempts per call before giving up (the partial stays for the next run). */
  readonly attempts?: number;
  readonly retryDelayMs?: number;
}

/** Incremental hash of the file as the Hub identifies it: LFS sha256, or the git blob sha1 of a regular file. */
class Digest {
  private hash: Hash | undefined;
  constructor(private readonly file: RepoFile) {
    this.reset();
  }
  reset(): void {
    if (this.file.sha256) this.hash = createHash('sha256');
    else if (this.file.gitOid && /^[0-9a-f]{40}$/.test(this.file.gitOid)) {
      this.hash = createHash('sha1').update(`blob ${this.file.size}\0`);
    } else this.hash = undefined;
  }
  update(chunk: Uint8Array): void {
    this.hash?.update(chunk);
  }
  async addFile(path: string): Promise<void> {
    if (!this.hash) return;
    for await (const chunk of createReadStream(path)) this.hash.update(chunk as Buffer);
  }
  /** [algorithm, expected, actual], or undefined when there is nothing to check. */
  result(): [string, string, string] | undefined {
    if (!this.hash) return undefined;
    const actual = this.hash.digest('hex');
    return this.file.sha256 ? ['sha256', this.file.sha256, actual] : ['git blob sha1', this.file.gitOid ?? '', actual];
  }
}

/** A connection that ended before the promised bytes arrived: worth resuming. */
class Interrupted extends Error {}

function corrupt(file: RepoFile, partial: string, problem: string): ModelFileError {
  return new ModelFileError(file.path, problem, { fix: `delete ${partial} and run again` });
}

function retryable(e: unknown): boolean {
  if (e instanceof Interrupted) return true;
  if (e instanceof HubError) return e.kind === 'network' || (e.kind === 'http' && (e.status ?? 0) >= 500) || e.status === 429;
  return false;
}

function parseContentRange(header: string | null): { start: number; total: number | undefined } | undefined {
  const m = header ? /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header.trim()) : null;
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) };
}

export async function downloadBlob(d: BlobDownload): Promise<void> {
  const { ctx, file } = d;
  const partial = incompletePath(d.blob);
  await mkdir(dirname(d.blob), { recursive: true });

  const digest = new Digest(file);
  const state = { have: (await fileSize(partial)) ?? 0 };
  if (state.have > file.size) {
    throw corrupt(file, partial, `the partial download is ${state.have} bytes, more than the ${file.size} bytes of the file on the Hub`);
  }
  if (state.have > 0) await digest.addFile(partial);
  d.onBytes?.(state.have, 0);

  const attempts = d.attempts ?? 4;
  for (let attempt = 1; state.have < file.size; attempt++) {
    try {
      await fetchInto(d, partial, state, digest);
    } catch (e) {
      throwIfAborted(ctx.signal);
      if (!retryable(e)) throw e;
      if (attempt >= attempts) {
        if (e instanceof HubError && e.kind === 'http') throw e;
        const why = e instanceof HubError ? e.message : `connection closed early: ${e instanceof Error ? e.message : String(e)}`;
        throw new HubError(
          'network',
          `Download of '${file.path}' from ${ctx.repo.name} stopped at ${state.have} of ${file.size} bytes after ${attempts} attempts. ` +
            `The partial file is kept at ${partial}; run again to resume from there. Last error: ${why}`,
          { cause: e },
        );
      }
      await sleep((d.retryDelayMs ?? 250) * attempt, undefined, ctx.signal ? { signal: ctx.signal } : {});
    }
  }

  const size = (await fileSize(partial)) ?? 0;
  if (size !== file.size) {
    throw corrupt(file, partial, `the download has ${size} bytes but the file has ${file.size} bytes on the Hub`);
  }
  const check = digest.result();
  if (check && check[1] !== check[2]) {
    throw corrupt(file, partial, `${check[0]} mismatch: expected ${check[1]}, got ${check[2]} (the download is corrupt)`);
  }
  await rename(partial, d.blob);
}

/** One request: appends what the server sends to the partial file, updating `state.have` and the digest as it goes. */
async function fetchInto(d: BlobDownload, partial: string, state: { have: number }, digest: Digest): Promise<void> {
  const { ctx, file } = d;
  const headers: Record<string, string> = { 'Accept-Encoding': 'identity' };
  if (ctx.token) headers['Authorization'] = `Bearer ${ctx.token}`;
  if (state.have > 0) headers['Range'] = `bytes=${state.have}-`;
  const res = await ctx.fetch(d.url, { headers, redirect: 'follow' });

  const restart = async (): Promise<void> => {
    await truncate(partial, 0).catch(() => undefined);
    state.have = 0;
    digest.reset();
    d.onBytes?.(0, 0);
  };

  if (!res.ok) {
    const text = res.headers.get('X-Error-Message') ?? (await res.text().catch(() => ''));
    let message = text;
    try {
      const json = JSON.parse(text) as { error?: unknown };
      if (typeof json.error === 'string') message = json.error;
    } catch {
      /* not json */
    }
    if (res.status === 416 && state.have > 0) {
      await restart();
      throw new Interrupted(`the server refused to resume at byte ${state.have}`);
    }
    throw httpError(ctx, { status: res.status, code: res.headers.get('X-Error-Code'), message, file: file.path });
  }

  if (res.status === 206) {
    const range = parseContentRange(res.headers.get('Content-Range'));
    if (range?.total !== undefined && range.total !== file.size) {
      await res.body?.cancel();
      throw corrupt(file, partial, `the Hub serves ${range.total} bytes but lists the file as ${file.size} bytes`);
    }
    if (!range || range.start !== state.have) {
      await res.body?.cancel();
      await restart();
      throw new Interrupted(`the server answered a resume request with an unexpected range (${res.headers.get('Content-Range')})`);
    }
  } else {
    if (state.have > 0) await restart(); // the server ignored Range: start over
    const length = res.headers.get('Content-Length');
    if (length !== null && Number(length) !== file.size) {
      await res.body?.cancel();
      throw corrupt(file, partial, `the Hub serves ${length} bytes but lists the file as ${file.size} bytes`);
    }
  }
  if (!res.body) throw new Interrupted('empty response body');

  const out = await open(partial, state.have > 0 ? 'a' : 'w');
  const reader = res.body.getReader();
  let finished = false;
  try {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (e) {
        throwIfAborted(ctx.signal);
        throw networkError(ctx.hubUrl, e, `downloading '${file.path}'`);
      }
      if (chunk.done) {
        finished = true;
        break;
      }
      const bytes = chunk.value;
      if (state.have + bytes.length > file.size) {
        throw corrupt(file, partial, `the server sent more than the ${file.size} bytes the file has on the Hub`);
      }
      await out.write(bytes);
      digest.update(bytes);
      state.have += bytes.length;
      d.onBytes?.(state.have, bytes.length);
    }
  } finally {
    if (finished) reader.releaseLock();
    else await reader.cancel().catch(() => undefined);
    await out.close();
  }
  if (state.have < file.size) throw new Interrupted(`the connection closed at ${state.have} of ${file.size} bytes`);
}
