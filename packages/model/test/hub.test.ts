import { statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ModelFileError } from '../src/errors.js';
import { HubError, resolveRepo, type DownloadProgress, type ResolveOptions } from '../src/hub/index.js';
import { FakeHub, GRANTED_TOKEN, gitOid, sha256 } from './hub-fake-server.js';

const MODEL = 'test-org/tiny-model';
const DATASET = 'test-org/tiny-dataset';
const GATED = 'test-org/gated-model';

const hub = new FakeHub();
let cacheDir: string;

beforeAll(async () => {
  await hub.start();
});
afterAll(async () => {
  await hub.close();
});
beforeEach(async () => {
  for (const name of ['HF_HUB_OFFLINE', 'HF_TOKEN', 'QUANTBENCH_CACHE', 'HF_HUB_CACHE', 'HF_ENDPOINT']) vi.stubEnv(name, undefined);
  cacheDir = await mkdtemp(join(tmpdir(), 'qb-hub-'));
  hub.requests.length = 0;
  hub.dropAfter.clear();
  hub.corrupt.clear();
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await rm(cacheDir, { recursive: true, force: true });
});

function opts(extra: ResolveOptions = {}): ResolveOptions {
  return { cacheDir, hubUrl: hub.url, ...extra };
}
const storage = (type: string, name: string): string => join(cacheDir, `${type}s--${name.replace('/', '--')}`);

/** For FakeHub.dropAfter: whether the model's partial download of `content` holds its first `end` bytes. */
const partialHolds =
  (content: Buffer) =>
  (end: number): boolean => {
    try {
      return statSync(join(storage('model', MODEL), 'blobs', `${sha256(content)}.incomplete`)).size >= end;
    } catch {
      return false;
    }
  };

async function expectError(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the call to fail');
}

describe('resolveRepo: download into the HF cache', () => {
  it('downloads every file into blobs/ + snapshots/<commit>/ + refs/main, byte-identical', async () => {
    const events: DownloadProgress[] = [];
    const r = await resolveRepo({ type: 'model', id: MODEL }, opts({ onProgress: (p) => events.push(p) }));
    const commit = hub.repo(MODEL).refs['main'] as string;
    expect(r).toMatchObject({ source: 'download', id: MODEL, revision: 'main', commit });
    expect(r.files).toEqual(['.gitattributes', 'README.md', 'config.json', 'generation_config.json', 'model.safetensors']);
    const repoDir = storage('model', MODEL);
    expect(r.dir).toBe(join(repoDir, 'snapshots', commit));
    expect((await readFile(join(repoDir, 'refs', 'main'), 'utf8')).trim()).toBe(commit);
    for (const f of hub.repo(MODEL).files) {
      expect(Buffer.compare(await readFile(join(r.dir, f.path)), f.content)).toBe(0);
      // Blobs are named as huggingface_hub names them: LFS sha256, else the git blob oid; snapshots hold relative links.
      const etag = f.lfs ? sha256(f.content) : gitOid(f.content);
      expect(await readlink(join(r.dir, f.path))).toBe(join('..', '..', 'blobs', etag));
    }
    expect((await readdir(join(repoDir, 'blobs'))).some((n) => n.endsWith('.incomplete'))).toBe(false);
    // Files come from /resolve/<commit>/ (LFS ones via the CDN redirect).
    expect(hub.requests.some((q) => q.url === `/${MODEL}/resolve/${commit}/model.safetensors`)).toBe(true);
    expect(hub.count('/cdn/')).toBe(1);

    const total = hub.repo(MODEL).files.reduce((n, f) => n + f.content.length, 0);
    const last = events.at(-1) as DownloadProgress;
    expect(last).toMatchObject({ bytes: total, total, etaSeconds: 0 });
    expect(events.filter((e) => e.file === 'model.safetensors' && e.fileBytes === e.fileTotal)).toHaveLength(1);
    expect(events.every((e, i) => i === 0 || e.bytes >= (events[i - 1] as DownloadProgress).bytes)).toBe(true);
  });

  it('serves a second call from the cache without any request', async () => {
    await resolveRepo({ type: 'model', id: MODEL }, opts());
    hub.requests.length = 0;
    const r = await resolveRepo({ type: 'model', id: MODEL }, opts());
    expect(r.source).toBe('cache');
    expect(r.files).toContain('model.safetensors');
    expect(hub.requests).toHaveLength(0);
  });

  it('refresh: true asks the Hub for the commit again but downloads nothing', async () => {
    await resolveRepo({ type: 'model', id: MODEL }, opts());
    hub.requests.length = 0;
    const r = await resolveRepo({ type: 'model', id: MODEL }, opts({ refresh: true }));
    expect(r.source).toBe('cache');
    expect(hub.requests.map((q) => q.url.split('?')[0])).toEqual([`/api/models/${MODEL}/revision/main`]);
  });

  it('filters with allowPatterns, and a later call fetches only what is missing', async () => {
    const r = await resolveRepo({ type: 'model', id: MODEL }, opts({ allowPatterns: ['*.json'] }));
    expect(r.files).toEqual(['config.json', 'generation_config.json']);
    expect(hub.requests.some((q) => q.url.includes('model.safetensors') || q.url.startsWith('/cdn/'))).toBe(false);
    await expect(stat(join(r.dir, 'model.safetensors'))).rejects.toThrow();

    hub.requests.length = 0;
    const again = await resolveRepo({ type: 'model', id: MODEL }, opts({ allowPatterns: ['*.json'] }));
    expect(again.source).toBe('cache');
    expect(hub.requests).toHaveLength(0);

    const w = await resolveRepo({ type: 'model', id: MODEL }, opts({ allowPatterns: ['*.safetensors', 'config.json'] }));
    expect(w.source).toBe('download');
    expect(w.files).toEqual(['config.json', 'model.safetensors']);
    const downloads = hub.requests.filter((q) => q.url.includes('/resolve/')).map((q) => q.url);
    expect(downloads).toEqual([`/${MODEL}/resolve/${w.commit}/model.safetensors`]);
    // The commit's listing was recorded by the first call: no second tree request.
    expect(hub.count(`/api/models/${MODEL}/tree`)).toBe(0);
  });

  it('says which files exist when allowPatterns match none', async () => {
    const e = await expectError(resolveRepo({ type: 'model', id: MODEL }, opts({ allowPatterns: ['*.gguf'] })));
    expect(e).toBeInstanceOf(HubError);
    expect((e as HubError).kind).toBe('no-match');
    expect(e.message).toContain('*.gguf');
    expect(e.message).toContain('model.safetensors');
  });

  it('downloads a dataset at a tag and records refs/<tag>', async () => {
    const r = await resolveRepo({ type: 'dataset', id: DATASET, revision: 'v1.0' }, opts({ allowPatterns: ['data/*'] }));
    const commit = hub.repo(DATASET).refs['v1.0'] as string;
    expect(r).toMatchObject({ source: 'download', revision: 'v1.0', commit, files: ['data/test.parquet'] });
    expect(r.dir).toBe(join(storage('dataset', DATASET), 'snapshots', commit));
    expect(Buffer.compare(await readFile(join(r.dir, 'data/test.parquet')), hub.file(DATASET, 'data/test.parquet').content)).toBe(0);
    expect((await readFile(join(storage('dataset', DATASET), 'refs', 'v1.0'), 'utf8')).trim()).toBe(commit);
    expect(hub.requests.some((q) => q.url.startsWith(`/api/datasets/${DATASET}/revision/v1.0`))).toBe(true);
    expect(hub.requests.some((q) => q.url === `/datasets/${DATASET}/resolve/${commit}/data/test.parquet`)).toBe(true);
  });

  it('records a pinned commit without writing a ref, and serves it from the cache offline', async () => {
    const commit = hub.repo(DATASET).refs['main'] as string;
    const r = await resolveRepo({ type: 'dataset', id: DATASET, revision: commit }, opts());
    expect(r).toMatchObject({ source: 'download', revision: commit, commit });
    await expect(stat(join(storage('dataset', DATASET), 'refs'))).rejects.toThrow();
    hub.requests.length = 0;
    const again = await resolveRepo({ type: 'dataset', id: DATASET, revision: commit }, opts({ offline: true }));
    expect(again).toMatchObject({ source: 'cache', commit });
    expect(hub.requests).toHaveLength(0);
  });

  it('sends the token as a Bearer header', async () => {
    await resolveRepo({ type: 'model', id: MODEL }, opts({ token: 'hf_test', allowPatterns: ['config.json'] }));
    expect(hub.requests.length).toBeGreaterThan(0);
    expect(hub.requests.every((q) => q.headers.authorization === 'Bearer hf_test')).toBe(true);
  });
});

describe('resolveRepo: offline', () => {
  it('resolves revision → refs → snapshot from the cache (offline: true and HF_HUB_OFFLINE=1)', async () => {
    const online = await resolveRepo({ type: 'model', id: MODEL }, opts());
    hub.requests.length = 0;
    const r = await resolveRepo({ type: 'model', id: MODEL }, opts({ offline: true }));
    expect(r).toMatchObject({ source: 'cache', dir: online.dir, commit: online.commit, files: online.files });
    vi.stubEnv('HF_HUB_OFFLINE', '1');
    const viaEnv = await resolveRepo({ type: 'model', id: MODEL }, opts({ allowPatterns: ['*.safetensors'] }));
    expect(viaEnv).toMatchObject({ source: 'cache', files: ['model.safetensors'] });
    expect(hub.requests).toHaveLength(0);
  });

  it('accepts a snapshot written by other HF tools (no listing recorded)', async () => {
    const commit = 'a'.repeat(40);
    const repoDir = storage('model', 'Other/Model');
    await mkdir(join(repoDir, 'snapshots', commit), { recursive: true });
    await mkdir(join(repoDir, 'refs'), { recursive: true });
    await writeFile(join(repoDir, 'refs', 'main'), commit);
    await writeFile(join(repoDir, 'snapshots', commit, 'config.json'), '{}');
    const r = await resolveRepo({ type: 'model', id: 'Other/Model' }, opts({ offline: true }));
    expect(r).toMatchObject({ source: 'cache', commit, files: ['config.json'] });
  });

  it('says what is not cached and how to fetch it', async () => {
    const e = await expectError(resolveRepo({ type: 'model', id: MODEL, revision: 'v2' }, opts({ offline: true })));
    expect(e).toBeInstanceOf(HubError);
    expect((e as HubError).kind).toBe('not-cached');
    expect(e.message).toContain(`model '${MODEL}' at revision 'v2' is not in the cache`);
    expect(e.message).toContain('Run once online');
    expect(e.message).toContain('local directory');
    expect(hub.requests).toHaveLength(0);
  });

  it('names the missing files when only part of the snapshot is cached', async () => {
    await resolveRepo({ type: 'model', id: MODEL }, opts({ allowPatterns: ['*.json'] }));
    hub.requests.length = 0;
    const e = await expectError(resolveRepo({ type: 'model', id: MODEL }, opts({ offline: true })));
    expect((e as HubError).kind).toBe('not-cached');
    expect(e.message).toContain('model.safetensors');
    expect(hub.requests).toHaveLength(0);
  });
});

describe('resolveRepo: resumable, verified downloads', () => {
  it('resumes a dropped connection with a Range request and ends byte-identical', async () => {
    const weights = hub.file(MODEL, 'model.safetensors');
    hub.dropAfter.set('model.safetensors', { bytes: 100_000, times: 1, kept: partialHolds(weights.content) });
    const r = await resolveRepo({ type: 'model', id: MODEL }, opts({ allowPatterns: ['model.safetensors'] }));
    expect(r.source).toBe('download');
    const cdn = hub.requests.filter((q) => q.url.startsWith('/cdn/'));
    expect(cdn).toHaveLength(2);
    expect(cdn[0]?.headers.range).toBeUndefined();
    // The resume starts at what the first response left on disk: the 100 kB sent before the cut.
    expect(cdn[1]?.headers.range).toBe('bytes=100000-');
    expect(Buffer.compare(await readFile(join(r.dir, 'model.safetensors')), weights.content)).toBe(0);
  });

  it('keeps the partial when the connection keeps dropping, and the next run resumes it', async () => {
    const weights = hub.file(MODEL, 'model.safetensors');
    hub.dropAfter.set('model.safetensors', { bytes: 50_000, times: 100, kept: partialHolds(weights.content) });
    const e = await expectError(resolveRepo({ type: 'model', id: MODEL }, opts({ allowPatterns: ['model.safetensors'] })));
    expect(e).toBeInstanceOf(HubError);
    expect((e as HubError).kind).toBe('network');
    const partial = join(storage('model', MODEL), 'blobs', `${sha256(weights.content)}.incomplete`);
    expect(e.message).toContain(partial);
    expect(e.message).toContain('run again to resume');
    // Each of the 4 attempts resumed with Range from what the one before kept (50 kB further each), then it gave up;
    // the partial is the file's first bytes.
    const ranges = hub.requests.filter((q) => q.url.startsWith('/cdn/')).map((q) => q.headers.range);
    expect(ranges).toEqual([undefined, 'bytes=50000-', 'bytes=100000-', 'bytes=150000-']);
    const kept = (await stat(partial)).size;
    expect(kept).toBe(200_000);
    expect(e.message).toContain(`stopped at ${kept} of ${weights.content.length} bytes`);
    expect(Buffer.compare(await readFile(partial), weights.content.subarray(0, kept))).toBe(0);

    hub.dropAfter.clear();
    hub.requests.length = 0;
    const r = await resolveRepo({ type: 'model', id: MODEL }, opts({ allowPatterns: ['model.safetensors'] }));
    const cdn = hub.requests.filter((q) => q.url.startsWith('/cdn/'));
    expect(cdn.map((q) => q.headers.range)).toEqual([`bytes=${kept}-`]);
    expect(Buffer.compare(await readFile(join(r.dir, 'model.safetensors')), weights.content)).toBe(0);
    await expect(stat(partial)).rejects.toThrow();
  });

  it('resumes a partial left by an earlier run (progress counts the resumed bytes)', async () => {
    const weights = hub.file(MODEL, 'model.safetensors');
    const blobs = join(storage('model', MODEL), 'blobs');
    await mkdir(blobs, { recursive: true });
    await writeFile(join(blobs, `${sha256(weights.content)}.incomplete`), weights.content.subarray(0, 12_345));
    const events: DownloadProgress[] = [];
    const r = await resolveRepo(
      { type: 'model', id: MODEL },
      opts({ allowPatterns: ['model.safetensors'], onProgress: (p) => events.push(p) }),
    );
    expect(hub.requests.filter((q) => q.url.startsWith('/cdn/')).map((q) => q.headers.range)).toEqual(['bytes=12345-']);
    expect(Buffer.compare(await readFile(join(r.dir, 'model.safetensors')), weights.content)).toBe(0);
    expect(events.at(-1)).toMatchObject({ bytes: weights.content.length, total: weights.content.length });
  });

  it('rejects corrupt bytes (sha256 mismatch): names the file and the fix, caches nothing', async () => {
    hub.corrupt.add('model.safetensors');
    const e = await expectError(resolveRepo({ type: 'model', id: MODEL }, opts({ allowPatterns: ['model.safetensors'] })));
    expect(e).toBeInstanceOf(ModelFileError);
    const sha = sha256(hub.file(MODEL, 'model.safetensors').content);
    const blob = join(storage('model', MODEL), 'blobs', sha);
    expect(e.message).toContain('model.safetensors');
    expect(e.message).toContain(`sha256 mismatch: expected ${sha}`);
    expect(e.message).toContain(`delete ${blob}.incomplete and run again`);
    await expect(stat(blob)).rejects.toThrow();
    const commit = hub.repo(MODEL).refs['main'] as string;
    await expect(stat(join(storage('model', MODEL), 'snapshots', commit, 'model.safetensors'))).rejects.toThrow();

    // Once the partial is deleted (as the error says), the next run succeeds.
    hub.corrupt.clear();
    await rm(`${blob}.incomplete`);
    const r = await resolveRepo({ type: 'model', id: MODEL }, opts({ allowPatterns: ['model.safetensors'] }));
    expect(r.source).toBe('download');
  });

  it('verifies regular files against their git blob oid', async () => {
    hub.corrupt.add('config.json');
    const e = await expectError(resolveRepo({ type: 'model', id: MODEL }, opts({ allowPatterns: ['config.json'] })));
    expect(e).toBeInstanceOf(ModelFileError);
    expect(e.message).toContain('config.json');
    expect(e.message).toContain('git blob sha1 mismatch');
  });
});

describe('resolveRepo: errors', () => {
  it('explains a gated repo (401 without a token)', async () => {
    const e = await expectError(resolveRepo({ type: 'model', id: GATED }, opts()));
    expect(e).toBeInstanceOf(HubError);
    expect((e as HubError).kind).toBe('gated');
    expect((e as HubError).status).toBe(401);
    expect(e.message).toContain(`model '${GATED}' is a gated repo`);
    expect(e.message).toContain(`Request access on the Hub: open ${hub.url}/${GATED}`);
    expect(e.message).toContain('HF_TOKEN');
    expect(e.message).toContain('No token was sent');
  });

  it('explains a gated repo (403 with a token lacking access), and works with access', async () => {
    const e = await expectError(resolveRepo({ type: 'model', id: GATED }, opts({ token: 'hf_no_access' })));
    expect((e as HubError).kind).toBe('gated');
    expect((e as HubError).status).toBe(403);
    expect(e.message).toContain('A token was sent');
    vi.stubEnv('HF_TOKEN', GRANTED_TOKEN);
    const r = await resolveRepo({ type: 'model', id: GATED }, opts());
    expect(r.source).toBe('download');
  });

  it('reports a missing repo (404)', async () => {
    const e = await expectError(resolveRepo({ type: 'model', id: 'test-org/nope' }, opts()));
    expect((e as HubError).kind).toBe('not-found');
    expect(e.message).toContain("model 'test-org/nope' not found on the Hub");
    expect(e.message).toContain('repo id');
    // A dataset asked for as a model.
    const asModel = await expectError(resolveRepo({ type: 'model', id: DATASET }, opts()));
    expect(asModel.message).toContain("a dataset needs type 'dataset'");
  });

  it('reports a missing revision (404)', async () => {
    const e = await expectError(resolveRepo({ type: 'model', id: MODEL, revision: 'no-such-branch' }, opts()));
    expect((e as HubError).kind).toBe('not-found');
    expect(e.message).toContain(`Revision 'no-such-branch' not found in model '${MODEL}'`);
  });

  it('says the Hub could not be reached and suggests offline mode or a local dir', async () => {
    const e = await expectError(resolveRepo({ type: 'model', id: MODEL }, opts({ hubUrl: 'http://127.0.0.1:9' })));
    expect((e as HubError).kind).toBe('network');
    expect(e.message).toContain('Could not reach the Hugging Face Hub at http://127.0.0.1:9');
    expect(e.message).toContain('HF_HUB_OFFLINE=1');
    expect(e.message).toContain('local directory');
  });

  it('rejects bad input', async () => {
    await expect(resolveRepo({ type: 'model', id: '' }, opts())).rejects.toThrow(/repo id must not be empty/);
    await expect(resolveRepo({ type: 'model', id: './no/such/dir' }, opts())).rejects.toThrow(/neither an existing local directory/);
    await expect(resolveRepo({ type: 'model', id: MODEL }, opts({ token: 'bad' }))).rejects.toThrow(/starts with "hf_"/);
    await expect(resolveRepo({ type: 'model', id: MODEL }, opts({ allowPatterns: [] }))).rejects.toThrow(/allowPatterns/);
    expect(hub.requests).toHaveLength(0);
  });

  it('honours an AbortSignal', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(resolveRepo({ type: 'model', id: MODEL }, opts({ signal: ac.signal }))).rejects.toThrow('stop');
  });
});

describe('resolveRepo: local directory', () => {
  it('returns an existing directory as is, without any request', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qb-local-'));
    try {
      await writeFile(join(dir, 'config.json'), '{}');
      await writeFile(join(dir, 'model.safetensors'), 'x');
      await mkdir(join(dir, '.cache'));
      await writeFile(join(dir, '.cache', 'junk'), 'x');
      const r = await resolveRepo({ type: 'model', id: dir, revision: 'main' }, opts());
      expect(r).toEqual({ dir, source: 'local', id: dir, files: ['config.json', 'model.safetensors'] });
      const only = await resolveRepo({ type: 'model', id: dir }, opts({ allowPatterns: ['*.json'] }));
      expect(only.files).toEqual(['config.json']);
      expect(hub.requests).toHaveLength(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
