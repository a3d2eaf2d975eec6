/**
 * A local stand-in for the parts of the Hugging Face Hub HTTP API that @huggingface/hub and our resumable download
 * call, with the headers the real Hub sends:
 *   GET  /api/{models|datasets}/{org}/{name}/revision/{rev}       repo info with `sha` (modelInfo / datasetInfo)
 *   GET  /api/{models|datasets}/{org}/{name}/tree/{rev}[/{path}]  file listing (listFiles)
 *   GET|HEAD /[datasets/]{org}/{name}/resolve/{rev}/{path}        file: regular files served here (ETag = git oid),
 *        LFS files 302-redirected to /cdn/{sha256} with X-Linked-Etag / X-Linked-Size, like the Hub's CDN redirect
 *   GET|HEAD /cdn/{sha256}                                        LFS content, with Range support
 * Errors carry X-Error-Code (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo) and a JSON { error } body.
 * Faults: drop the connection after N bytes of a file, or send corrupt bytes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeFile {
  readonly path: string;
  readonly content: Buffer;
  readonly lfs: boolean;
}

export interface FakeRepo {
  readonly type: 'model' | 'dataset';
  readonly name: string;
  /** branch/tag → commit */
  readonly refs: Record<string, string>;
  readonly files: FakeFile[];
  readonly gated?: false | 'manual' | 'auto';
}

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

export const GRANTED_TOKEN = 'hf_granted_token';

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
export function gitOid(b: Buffer): string {
  return createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
}
function lfsPointer(f: FakeFile): Buffer {
  return Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(f.content)}\nsize ${f.content.length}\n`);
}
export function fakeCommit(seed: string): string {
  return createHash('sha1').update(seed).digest('hex');
}

/** The repos the tests use: a model, a gated model and a dataset. */
export function defaultRepos(): FakeRepo[] {
  const main = fakeCommit('model-main');
  const weights = randomBytes(300 * 1024);
  const model: FakeRepo = {
    type: 'model',
    name: 'test-org/tiny-model',
    refs: { main },
    files: [
      { path: '.gitattributes', content: Buffer.from('*.safetensors filter=lfs diff=lfs merge=lfs -text\n'), lfs: false },
      { path: 'config.json', content: Buffer.from(JSON.stringify({ model_type: 'qwen3', hidden_size: 64 }, null, 2)), lfs: false },
      { path: 'generation_config.json', content: Buffer.from('{"temperature": 0.6}\n'), lfs: false },
      { path: 'model.safetensors', content: weights, lfs: true },
      { path: 'README.md', content: Buffer.from('# tiny model\n'), lfs: false },
    ],
  };
  const gated: FakeRepo = {
    type: 'model',
    name: 'test-org/gated-model',
    refs: { main: fakeCommit('gated-main') },
    gated: 'manual',
    files: [
      { path: 'config.json', content: Buffer.from('{"model_type":"qwen3"}'), lfs: false },
      { path: 'model.safetensors', content: randomBytes(4096), lfs: true },
    ],
  };
  const v1 = fakeCommit('dataset-v1');
  const dataset: FakeRepo = {
    type: 'dataset',
    name: 'test-org/tiny-dataset',
    refs: { main: v1, 'v1.0': v1 },
    files: [
      { path: 'README.md', content: Buffer.from('---\nlicense: mit\n---\n'), lfs: false },
      { path: 'data/test.parquet', content: Buffer.concat([Buffer.from('PAR1'), randomBytes(64 * 1024), Buffer.from('PAR1')]), lfs: true },
    ],
  };
  return [model, gated, dataset];
}

export class FakeHub {
  readonly requests: RecordedRequest[] = [];
  /**
   * path → drop the connection after sending `bytes` bytes of a response body, `times` times; the cut waits until
   * `kept(end)` says the client has the body up to byte `end` (e.g. its partial file has that size), so what an
   * attempt keeps does not depend on how fast the client reads.
   */
  readonly dropAfter = new Map<string, { bytes: number; times: number; kept: (end: number) => boolean }>();
  /** paths served with corrupt bytes (same length). */
  readonly corrupt = new Set<string>();
  private server: Server | undefined;
  url = '';

  constructor(readonly repos: FakeRepo[] = defaultRepos()) {}

  repo(name: string): FakeRepo {
    const r = this.repos.find((x) => x.name === name);
    if (!r) throw new Error(`no fake repo ${name}`);
    return r;
  }
  file(repo: string, path: string): FakeFile {
    const f = this.repo(repo).files.find((x) => x.path === path);
    if (!f) throw new Error(`no fake file ${path}`);
    return f;
  }
  /** Requests whose path starts with `prefix` (default: all). */
  count(prefix = ''): number {
    return this.requests.filter((r) => r.url.startsWith(prefix)).length;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers });
      try {
        this.handle(req, res);
      } catch (e) {
        res.writeHead(500, { 'Content-Type': 'text/plain' }).end(String(e));
      }
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
  }

  private error(res: ServerResponse, status: number, code: string, message: string): void {
    res.writeHead(status, { 'Content-Type': 'application/json', 'X-Error-Code': code, 'X-Error-Message': message });
    res.end(JSON.stringify({ error: message }));
  }

  private commitOf(repo: FakeRepo, rev: string): string | undefined {
    if (repo.refs[rev]) return repo.refs[rev];
    if (Object.values(repo.refs).includes(rev)) return rev;
    return undefined;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const parts = url.pathname.split('/').slice(1).map(decodeURIComponent);

    if (parts[0] === 'cdn' && parts[1]) {
      const sha = parts[1];
      for (const repo of this.repos) {
        const f = repo.files.find((x) => x.lfs && sha256(x.content) === sha);
        if (f) return this.serve(req, res, f, { ETag: `"${sha}"` });
      }
      return this.error(res, 404, 'EntryNotFound', 'Entry not found');
    }

    if (parts[0] === 'api' && (parts[1] === 'models' || parts[1] === 'datasets')) {
      const type = parts[1] === 'models' ? 'model' : 'dataset';
      const name = `${parts[2]}/${parts[3]}`;
      const repo = this.repos.find((r) => r.type === type && r.name === name);
      if (!repo) return this.error(res, 404, 'RepoNotFound', 'Repository not found');
      const rev = parts[5] ?? 'main';
      const commit = this.commitOf(repo, rev === 'HEAD' ? 'main' : rev);
      if (!commit) return this.error(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
      if (parts[4] === 'revision') {
        return this.json(res, {
          _id: fakeCommit(name).slice(0, 24),
          id: name,
          sha: commit,
          private: false,
          gated: repo.gated ?? false,
          lastModified: '2025-08-01T00:00:00.000Z',
          downloads: 0,
          likes: 0,
          siblings: repo.files.map((f) => ({ rfilename: f.path })),
        });
      }
      if (parts[4] === 'tree') {
        const under = parts.slice(6).join('/');
        const recursive = url.searchParams.get('recursive') === 'true';
        return this.json(res, this.tree(repo, under, recursive));
      }
      return this.error(res, 404, 'EntryNotFound', 'Not found');
    }

    const isDataset = parts[0] === 'datasets';
    const p = isDataset ? parts.slice(1) : parts;
    if (p[2] === 'resolve' && p[3]) {
      const name = `${p[0]}/${p[1]}`;
      const repo = this.repos.find((r) => r.type === (isDataset ? 'dataset' : 'model') && r.name === name);
      if (!repo) return this.error(res, 404, 'RepoNotFound', 'Repository not found');
      const commit = this.commitOf(repo, p[3]);
      if (!commit) return this.error(res, 404, 'RevisionNotFound', 'Invalid rev id');
      if (repo.gated && req.headers.authorization !== `Bearer ${GRANTED_TOKEN}`) {
        return req.headers.authorization
          ? this.error(res, 403, 'GatedRepo', `Access to model ${name} is restricted and you are not in the authorized list. Visit https://huggingface.co/${name} to ask for access.`)
          : this.error(res, 401, 'GatedRepo', `Access to model ${name} is restricted. You must have access to it and be authenticated to access it. Please log in.`);
      }
      const path = p.slice(4).join('/');
      const f = repo.files.find((x) => x.path === path);
      if (!f) return this.error(res, 404, 'EntryNotFound', 'Entry not found');
      if (f.lfs) {
        const sha = sha256(f.content);
        res.writeHead(302, {
          Location: `/cdn/${sha}`,
          'X-Repo-Commit': commit,
          'X-Linked-Etag': `"${sha}"`,
          'X-Linked-Size': String(f.content.length),
          ETag: `"${gitOid(lfsPointer(f))}"`,
        });
        return void res.end();
      }
      return this.serve(req, res, f, { ETag: `"${gitOid(f.content)}"`, 'X-Repo-Commit': commit });
    }
    this.error(res, 404, 'EntryNotFound', 'Not found');
  }

  private json(res: ServerResponse, body: unknown): void {
    res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
  }

  private tree(repo: FakeRepo, under: string, recursive: boolean): unknown[] {
    const prefix = under ? `${under}/` : '';
    const dirs = new Set<string>();
    const out: unknown[] = [];
    for (const f of repo.files) {
      if (!f.path.startsWith(prefix)) continue;
      const rest = f.path.slice(prefix.length).split('/');
      for (let i = 1; i < rest.length; i++) dirs.add(prefix + rest.slice(0, i).join('/'));
      if (!recursive && rest.length > 1) continue;
      out.push({
        type: 'file',
        oid: gitOid(f.lfs ? lfsPointer(f) : f.content),
        size: f.content.length,
        path: f.path,
        ...(f.lfs ? { lfs: { oid: sha256(f.content), size: f.content.length, pointerSize: lfsPointer(f).length } } : {}),
      });
    }
    for (const d of dirs) {
      if (recursive || !d.slice(prefix.length).includes('/')) out.push({ type: 'directory', oid: fakeCommit(d), size: 0, path: d });
    }
    return out;
  }

  private serve(req: IncomingMessage, res: ServerResponse, f: FakeFile, headers: Record<string, string>): void {
    let body = f.content;
    if (this.corrupt.has(f.path)) {
      body = Buffer.from(body);
      for (let i = 0; i < body.length; i += 997) body[i] = (body[i] ?? 0) ^ 0xff;
    }
    const size = body.length;
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = req.headers.range;
    if (range) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range);
      if (!m) return this.error(res, 416, 'InvalidRange', 'bad range');
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
      if (start >= size) {
        res.writeHead(416, { 'Content-Range': `bytes */${size}` });
        return void res.end();
      }
      status = 206;
    }
    res.writeHead(status, {
      ...headers,
      'Accept-Ranges': 'bytes',
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(end - start + 1),
      ...(status === 206 ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    const drop = this.dropAfter.get(f.path);
    if (drop && drop.times > 0 && drop.bytes <= end - start) {
      drop.times--;
      // When a connection fails the client's body stream discards chunks it had queued but not handed out, so the
      // cut waits until the client holds what was sent.
      res.write(body.subarray(start, start + drop.bytes), () => {
        const cutWhenKept = (): void => void (drop.kept(start + drop.bytes) ? res.socket?.destroy() : setTimeout(cutWhenKept, 10));
        cutWhenKept();
      });
      return;
    }
    res.end(body.subarray(start, end + 1));
  }
}
