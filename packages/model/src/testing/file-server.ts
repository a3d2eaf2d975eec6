/**
 * A small static file server on 127.0.0.1 (ephemeral port) for tests: serves directories under URL prefixes, and
 * in-memory files, with HEAD and single `Range: bytes=…` requests (206 + Content-Range, 416 past the end), so a
 * checkpoint directory can be read with httpModelFiles. Node only; test helper (exported as
 * `@quantbench/model/testing`).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

export interface FileServerOptions {
  /** URL prefix (e.g. '/models/bf16') → directory served under it. */
  readonly dirs?: Readonly<Record<string, string>>;
  /** URL path (e.g. '/index.html') → content. */
  readonly files?: Readonly<Record<string, string | Uint8Array>>;
  /** Honour Range requests (default true); false answers them with the whole file (HTTP 200), as some servers do. */
  readonly honourRange?: boolean;
}

export interface FileServer {
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  readonly origin: string;
  /** Every request so far: `METHOD path [range]`. */
  readonly requests: string[];
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.jinja': 'text/plain; charset=utf-8',
};

function contentType(path: string): string {
  return CONTENT_TYPES[extname(path)] ?? 'application/octet-stream';
}

/** Parses a single `bytes=a-b` / `bytes=a-` / `bytes=-n` range against `size`; null = unsatisfiable, undefined = none. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return undefined;
  const [, a = '', b = ''] = match;
  let start: number;
  let end: number;
  if (a === '') {
    if (b === '') return undefined;
    start = Math.max(0, size - Number(b));
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  if (start >= size || end < start) return null;
  return { start, end };
}

export async function startFileServer(options: FileServerOptions): Promise<FileServer> {
  const honourRange = options.honourRange ?? true;
  const requests: string[] = [];
  const dirs = Object.entries(options.dirs ?? {}).map(([prefix, dir]) => [prefix.replace(/\/+$/, ''), dir] as const);

  async function locate(path: string): Promise<{ size: number; body: Uint8Array | string; type: string } | null> {
    const inline = options.files?.[path];
    if (inline !== undefined) {
      const bytes = typeof inline === 'string' ? new TextEncoder().encode(inline) : inline;
      return { size: bytes.byteLength, body: bytes, type: contentType(path) };
    }
    for (const [prefix, dir] of dirs) {
      if (!path.startsWith(`${prefix}/`)) continue;
      const relative = normalize(path.slice(prefix.length + 1));
      if (relative.startsWith('..') || relative.startsWith(sep)) return null;
      const file = join(dir, relative);
      try {
        const stats = await stat(file);
        if (stats.isFile()) return { size: stats.size, body: file, type: contentType(file) };
      } catch {
        // not there: try the next prefix
      }
    }
    return null;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const rangeHeader = request.headers.range;
    requests.push(`${method} ${path}${rangeHeader === undefined ? '' : ` ${rangeHeader}`}`);
    if (method !== 'GET' && method !== 'HEAD') {
      response.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const found = await locate(path);
    if (found === null) {
      response.writeHead(404, { 'Content-Type': 'text/plain' }).end(method === 'HEAD' ? undefined : `not found: ${path}\n`);
      return;
    }
    const range = honourRange ? parseRange(rangeHeader, found.size) : undefined;
    if (range === null) {
      response.writeHead(416, { 'Content-Range': `bytes */${found.size}` }).end();
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? found.size - 1;
    const headers: Record<string, string | number> = {
      'Content-Type': found.type,
      'Content-Length': Math.max(0, end - start + 1),
      'Cache-Control': 'no-store',
      ...(honourRange ? { 'Accept-Ranges': 'bytes' } : {}),
      ...(range === undefined ? {} : { 'Content-Range': `bytes ${start}-${end}/${found.size}` }),
    };
    response.writeHead(range === undefined ? 200 : 206, headers);
    if (method === 'HEAD' || end < start) {
      response.end();
      return;
    }
    if (typeof found.body !== 'string') {
      response.end(found.body.subarray(start, end + 1));
      return;
    }
    const stream = createReadStream(found.body, { start, end });
    stream.on('error', (error) => response.destroy(error));
    stream.pipe(response);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'Content-Type': 'text/plain' });
      response.end(String(error));
    });
  });
  // Node closes an idle keep-alive socket after 5 s; a client (undici) reusing it at that moment gets "fetch failed"
  // (seen once in CI under load). Idle sockets here live as long as the test server.
  server.keepAliveTimeout = 10 * 60_000;
  server.headersTimeout = 10 * 60_000 + 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
