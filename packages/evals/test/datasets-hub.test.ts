import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DatasetError, defaultDatasetsDir, loadTask, lockManifest, manifestPath, readManifestFile, type DatasetManifest } from '../src/datasets/index.js';

/**
 * The Hub path (download through packages/model's resolveRepo, lock, offline reuse, gating) against a stand-in for
 * the three Hub endpoints it calls, served from a `fetch` function: repo info with the commit sha, the file tree
 * listing, and /resolve/ file downloads. Nothing here reaches the network.
 */
const HUB = 'http://hub.test';
const fixtures = join(defaultDatasetsDir(), 'fixtures');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const gitOid = (b: Buffer): string => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

interface FakeRepo {
  name: string;
  commit: string;
  files: Record<string, { content: Buffer; lfs: boolean }>;
  gated?: 'manual';
  grantedToken?: string;
}

function fakeHub(repos: FakeRepo[]): { fetch: typeof fetch; calls: string[] } {
  const calls: string[] = [];
  const json = (body: unknown, status = 200, headers: Record<string, string> = {}): Response =>
    new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
  const fn = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    calls.push(url.pathname);
    const auth = new Headers(init?.headers).get('Authorization');
    const m = /^\/(?:api\/)?datasets\/([^/]+\/[^/]+)\/(revision|tree|resolve)\/([^/?]+)(?:\/(.*))?$/.exec(url.pathname);
    const repo = m ? repos.find((r) => r.name === m[1]) : undefined;
    if (!m || !repo) return json({ error: 'Repository not found' }, 404, { 'X-Error-Code': 'RepoNotFound' });
    if (repo.gated && auth !== `Bearer ${repo.grantedToken}`) {
      return json({ error: `Access to dataset ${repo.name} is restricted. You must have access to it and be authenticated to access it. Please log in.` }, 401, { 'X-Error-Code': 'GatedRepo' });
    }
    const rev = decodeURIComponent(m[3]!);
    if (rev !== 'main' && rev !== repo.commit) return json({ error: 'Invalid rev id' }, 404, { 'X-Error-Code': 'RevisionNotFound' });
    if (m[2] === 'revision') return json({ _id: 'x', id: repo.name, sha: repo.commit, gated: repo.gated ?? false, private: false, downloads: 0, likes: 0, lastModified: '2025-01-01T00:00:00.000Z' });
    if (m[2] === 'tree') {
      return json(
        Object.entries(repo.files).map(([path, f]) => ({
          type: 'file',
          path,
          size: f.content.length,
          oid: gitOid(f.content),
          ...(f.lfs ? { lfs: { oid: sha256(f.content), size: f.content.length, pointerSize: 130 } } : {}),
        })),
      );
    }
    const file = repo.files[decodeURIComponent(m[4] ?? '')];
    if (!file) return json({ error: 'Entry not found' }, 404, { 'X-Error-Code': 'EntryNotFound' });
    return new Response(new Uint8Array(file.content), { status: 200, headers: { 'Content-Length': String(file.content.length) } });
  };
  return { fetch: fn as typeof fetch, calls };
}

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'qb-datasets-hub-'));
  vi.stubEnv('HF_TOKEN', '');
  vi.stubEnv('HF_HUB_OFFLINE', '');
  vi.stubEnv('HF_ENDPOINT', '');
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
  vi.unstubAllEnvs();
});

const COMMIT = 'a'.repeat(40);

/** An unpinned Hub manifest over the gsm8k fixture's file, served by a fake repo. */
async function hubSetup(): Promise<{ manifest: string; repo: FakeRepo; content: Buffer }> {
  const fx = await readManifestFile(manifestPath('gsm8k', { fixtures: true }));
  const path = fx.files[0]!.path;
  const content = await readFile(join(fixtures, 'gsm8k', path));
  const repo: FakeRepo = {
    name: 'test-org/gsm8k',
    commit: COMMIT,
    files: { [path]: { content, lfs: true }, 'README.md': { content: Buffer.from('# readme\n'), lfs: false } },
  };
  const m: DatasetManifest = {
    ...fx,
    title: 'GSM8K (fake hub)',
    source: { kind: 'hub', repo: repo.name, repoType: 'dataset', ref: 'main', revision: null, config: 'main', split: 'test' },
    files: [{ path, rows: 5, sha256: null, size: null }],
    lockedAt: null,
  };
  const manifest = join(tmp, 'gsm8k.json');
  await writeFile(manifest, `${JSON.stringify(m, null, 2)}\n`);
  return { manifest, repo, content };
}

describe('Hub download, lock and offline reuse', () => {
  it('unpinned: downloads from the ref with a warning; lock pins commit, sha256 and size; then offline loads verify', async () => {
    const { manifest, repo, content } = await hubSetup();
    const hub = fakeHub([repo]);
    const cacheDir = join(tmp, 'cache');
    const warnings: string[] = [];

    const first = await loadTask('gsm8k', { manifest, cacheDir, hubUrl: HUB, fetch: hub.fetch, onWarning: (w) => warnings.push(w) });
    expect(first.problems).toHaveLength(5);
    expect(first.source).toMatchObject({ repo: 'test-org/gsm8k', revision: COMMIT, pinned: false, origin: 'download' });
    expect(warnings[0]).toMatch(/no pinned revision \(downloaded from 'main', now commit a{40}, which can move\)/);
    expect(hub.calls.some((c) => c.includes('README.md'))).toBe(false); // only the manifest's files are fetched

    const before = await readFile(manifest, 'utf8');
    const dry = await lockManifest(manifest, { cacheDir, hubUrl: HUB, fetch: hub.fetch, dryRun: true });
    expect(dry.changed).toBe(true);
    expect(await readFile(manifest, 'utf8')).toBe(before);

    const now = new Date('2030-01-02T03:04:05.000Z');
    const locked = await lockManifest(manifest, { cacheDir, hubUrl: HUB, fetch: hub.fetch, now: () => now });
    expect(locked).toMatchObject({ changed: true, revision: COMMIT });
    const written = JSON.parse(await readFile(manifest, 'utf8')) as DatasetManifest;
    expect(written.source).toMatchObject({ kind: 'hub', revision: COMMIT, ref: 'main' });
    expect(written.files[0]).toEqual({ path: 'main/test-00000-of-00001.parquet', rows: 5, sha256: sha256(content), size: content.length });
    expect(written.lockedAt).toBe('2030-01-02T03:04:05.000Z');

    // Pinned now: offline, from the cache, no warning, no request.
    const offlineFetch = vi.fn(() => Promise.reject(new Error('no network')));
    const again = await loadTask('gsm8k', { manifest, cacheDir, offline: true, fetch: offlineFetch as unknown as typeof fetch, onWarning: (w) => warnings.push(w) });
    expect(again.source).toMatchObject({ pinned: true, origin: 'cache', revision: COMMIT });
    expect(again.source.files[0]!.sha256).toBe(sha256(content));
    expect(warnings).toHaveLength(1);
    expect(offlineFetch).not.toHaveBeenCalled();

    // Locking a pinned manifest verifies and writes nothing.
    const verify = await lockManifest(manifest, { cacheDir, offline: true });
    expect(verify.changed).toBe(false);
  });

  it('lock never overwrites a pinned hash: a different file is a checksum error and the manifest is unchanged', async () => {
    const { manifest, repo } = await hubSetup();
    const m = JSON.parse(await readFile(manifest, 'utf8')) as DatasetManifest;
    m.files[0] = { ...m.files[0]!, sha256: 'f'.repeat(64), size: repo.files[m.files[0]!.path]!.content.length };
    await writeFile(manifest, JSON.stringify(m));
    const before = await readFile(manifest, 'utf8');
    const e = await lockManifest(manifest, { cacheDir: join(tmp, 'cache'), hubUrl: HUB, fetch: fakeHub([repo]).fetch }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DatasetError);
    expect((e as DatasetError).kind).toBe('checksum');
    expect(await readFile(manifest, 'utf8')).toBe(before);
  });

  it('offline with an empty cache says so', async () => {
    const { manifest } = await hubSetup();
    const e = await loadTask('gsm8k', { manifest, cacheDir: join(tmp, 'empty'), offline: true, onWarning: () => {} }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DatasetError);
    expect((e as DatasetError).kind).toBe('fetch');
    expect((e as Error).message).toMatch(/not in the cache .* offline mode is on/);
  });
});

describe('gated GPQA', () => {
  async function gpqaSetup(): Promise<{ manifest: string; repo: FakeRepo }> {
    await cp(join(fixtures, 'gpqa-diamond'), join(tmp, 'gpqa-src'), { recursive: true });
    const real = await readManifestFile(manifestPath('gpqa-diamond'));
    const fx = await readManifestFile(manifestPath('gpqa-diamond', { fixtures: true }));
    const content = await readFile(join(fixtures, 'gpqa-diamond/gpqa_diamond.csv'));
    const repo: FakeRepo = { name: 'Idavidrein/gpqa', commit: 'b'.repeat(40), gated: 'manual', grantedToken: 'hf_granted', files: { 'gpqa_diamond.csv': { content, lfs: false } } };
    const m: DatasetManifest = { ...real, rows: 3, files: [{ ...fx.files[0]!, sha256: null, size: null }] };
    const manifest = join(tmp, 'gpqa-diamond.json');
    await writeFile(manifest, JSON.stringify(m));
    return { manifest, repo };
  }

  it('without HF_TOKEN and not cached: explains how to get access, without any request', async () => {
    const none = vi.fn(() => Promise.reject(new Error('must not be called')));
    const e = await loadTask('gpqa-diamond', { cacheDir: join(tmp, 'cache'), fetch: none as unknown as typeof fetch }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DatasetError);
    const err = e as DatasetError;
    expect(err.kind).toBe('gated');
    expect(err.message).toContain('GPQA Diamond (Idavidrein/gpqa) is a gated dataset: it is not in the cache and HF_TOKEN is not set');
    expect(err.message).toContain('https://huggingface.co/datasets/Idavidrein/gpqa');
    expect(err.message).toContain('set HF_TOKEN=hf_...');
    expect(none).not.toHaveBeenCalled();
  });

  it('with a token that has no access (401/403): the same explanation; with access it downloads, then loads without a token', async () => {
    const { manifest, repo } = await gpqaSetup();
    const hub = fakeHub([repo]);
    const cacheDir = join(tmp, 'cache');
    const e = await loadTask('gpqa-diamond', { manifest, cacheDir, hubUrl: HUB, fetch: hub.fetch, token: 'hf_no_access', onWarning: () => {} }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DatasetError);
    expect((e as DatasetError).kind).toBe('gated');
    expect((e as Error).message).toMatch(/the Hub refused access \(HTTP 401\) with the token given/);
    expect((e as Error).message).toContain(`${HUB}/datasets/Idavidrein/gpqa`);

    const ok = await loadTask('gpqa-diamond', { manifest, cacheDir, hubUrl: HUB, fetch: hub.fetch, token: 'hf_granted', onWarning: () => {} });
    expect(ok.problems).toHaveLength(3);
    // Cached now: no token needed (the cache is looked at first, with no request).
    const none = vi.fn(() => Promise.reject(new Error('must not be called')));
    const cached = await loadTask('gpqa-diamond', { manifest, cacheDir, hubUrl: HUB, fetch: none as unknown as typeof fetch, onWarning: () => {} });
    expect(cached.source.origin).toBe('cache');
    expect(none).not.toHaveBeenCalled();
  });
});
