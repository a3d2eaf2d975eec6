import { homedir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import type { z } from 'zod';
import { prettifyError } from 'zod';
import {
  blobPath,
  COMMIT_SHA,
  fileSize,
  isDirectory,
  linkIntoSnapshot,
  readManifest,
  readRef,
  repoFolder,
  safeJoin,
  snapshotDir,
  walkFiles,
  writeManifest,
  writeRef,
  type HubRepo,
  type RepoFile,
} from './cache-layout.js';
import { downloadBlob } from './download-file.js';
import { defaultCacheDir, defaultHubUrl, defaultOffline, defaultToken } from './env.js';
import { HubError } from './errors.js';
import { guardedFetch, listRepoFiles, resolveCommit, resolveUrl, type HubContext } from './hub-api.js';
import { pathFilter } from './patterns.js';
import { ProgressTracker } from './progress.js';
import {
  HUB_REPO_ID,
  repoSpecSchema,
  resolveOptionsSchema,
  type RepoSpec,
  type ResolvedRepo,
  type ResolveOptions,
} from './types.js';

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new HubError('invalid', `Invalid ${what}: ${prettifyError(r.error)}`);
  return r.data;
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p;
}

function looksLikePath(id: string): boolean {
  return /^(\.{1,2}|~)?[/\\]/.test(id) || id === '.' || id === '..' || id === '~' || id.includes('\\') || id.split('/').length > 2;
}

function listFew(paths: readonly string[], n = 5): string {
  return paths.slice(0, n).join(', ') + (paths.length > n ? `, ... (${paths.length} in all)` : '');
}

function noMatch(what: string, patterns: readonly string[] | undefined, all: readonly string[]): HubError {
  return new HubError(
    'no-match',
    `None of the ${all.length} files of ${what} match allowPatterns ${JSON.stringify(patterns)}` +
      (all.length ? `; its files are: ${listFew(all, 12)}` : ''),
  );
}

/**
 * A directory holding the files of a model or dataset: the local directory when `spec.id` is one, else the
 * Hugging Face cache snapshot of the repo at `spec.revision`, downloading (resumably, verified) whatever matching
 * files it lacks.
 */
export async function resolveRepo(spec: RepoSpec, options: ResolveOptions = {}): Promise<ResolvedRepo> {
  const s = parse(repoSpecSchema, spec, 'repo spec');
  const o = parse(resolveOptionsSchema, options, 'resolve options');
  const match = pathFilter(o.allowPatterns);

  // A local directory is used as is.
  const local = resolvePath(expandHome(s.id));
  if (await isDirectory(local)) {
    const all = await walkFiles(local);
    const files = all.filter(match);
    if (files.length === 0 && o.allowPatterns) throw noMatch(`directory ${local}`, o.allowPatterns, all);
    return { dir: local, source: 'local', id: s.id, files };
  }
  if (looksLikePath(s.id) || !HUB_REPO_ID.test(s.id)) {
    throw new HubError(
      'invalid',
      `'${s.id}' is neither an existing local directory nor a Hub repo id like 'Org/Name': check the path, or the ${s.type} id on the Hub.`,
    );
  }

  const repo: HubRepo = { type: s.type, name: s.id };
  const revision = s.revision ?? 'main';
  const cacheDir = o.cacheDir ?? defaultCacheDir();
  const storage = repoFolder(cacheDir, repo);
  const what = `${repo.type} '${repo.name}' at revision '${revision}'`;

  const offline = o.offline ?? defaultOffline();
  const cached = await fromCache(storage, revision, match);
  if (cached.kind === 'complete' && (offline || !o.refresh)) return { ...cached.result, id: s.id, revision };
  if (offline) {
    if (cached.kind === 'unverified') return { ...cached.result, id: s.id, revision };
    if (cached.kind === 'no-match') throw noMatch(`${what} (cached)`, o.allowPatterns, cached.all);
    const fetchHint =
      'Run once online to download it (unset HF_HUB_OFFLINE / pass offline: false), or pass a local directory holding the files as the repo id.';
    if (cached.kind === 'incomplete') {
      throw new HubError(
        'not-cached',
        `${what} is only partly in the cache (${storage}) and offline mode is on: ${cached.missing.length} file(s) missing (${listFew(cached.missing)}). ${fetchHint}`,
      );
    }
    throw new HubError(
      'not-cached',
      `${what} is not in the cache (${storage}) and offline mode is on (HF_HUB_OFFLINE=1 or offline: true). ${fetchHint}`,
    );
  }

  const hubUrl = (o.hubUrl ?? defaultHubUrl()).replace(/\/+$/, '');
  const token = o.token ?? defaultToken();
  if (token !== undefined && !token.startsWith('hf_')) {
    throw new HubError('invalid', 'HF_TOKEN does not look like a Hugging Face token (they start with "hf_"): see https://huggingface.co/settings/tokens.');
  }
  const ctx: HubContext = {
    repo,
    revision,
    hubUrl,
    token,
    fetch: guardedFetch(o.fetch ?? globalThis.fetch, hubUrl, o.signal),
    signal: o.signal,
  };

  const { commit, gated } = await resolveCommit(ctx);
  ctx.gated = gated;
  // A commit's listing never changes: reuse the one recorded by an earlier call.
  let listing = (await readManifest(storage, commit))?.files;
  if (!listing) {
    listing = await listRepoFiles(ctx, commit);
    await writeManifest(storage, { version: 1, type: repo.type, name: repo.name, commit, files: listing });
  }
  const wanted = listing.filter((f) => match(f.path));
  if (wanted.length === 0) throw noMatch(what, o.allowPatterns, listing.map((f) => f.path));

  const snapshot = snapshotDir(storage, commit);
  const todo: { file: RepoFile; pointer: string; blob: string }[] = [];
  for (const file of wanted) {
    let pointer: string;
    try {
      pointer = safeJoin(snapshot, file.path);
    } catch (e) {
      throw new HubError('invalid', `${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if ((await fileSize(pointer)) === file.size) continue;
    const blob = blobPath(storage, file.etag);
    if ((await fileSize(blob)) === file.size) await linkIntoSnapshot(blob, pointer);
    else todo.push({ file, pointer, blob });
  }

  const tracker = new ProgressTracker(
    todo.reduce((n, t) => n + t.file.size, 0),
    o.onProgress,
  );
  for (const { file, pointer, blob } of todo) {
    tracker.startFile(file.path, file.size, 0);
    await downloadBlob({
      ctx,
      url: resolveUrl(ctx, commit, file.path),
      file,
      blob,
      onBytes: (fileBytes, transferred) => tracker.update(fileBytes, transferred),
    });
    await linkIntoSnapshot(blob, pointer);
    tracker.finishFile();
  }
  await writeRef(storage, revision, commit);

  return {
    dir: snapshot,
    source: todo.length > 0 ? 'download' : 'cache',
    id: s.id,
    revision,
    commit,
    files: wanted.map((f) => f.path),
  };
}

type CacheLookup =
  | { kind: 'complete' | 'unverified'; result: { dir: string; source: 'cache'; commit: string; files: string[] } }
  | { kind: 'incomplete'; missing: string[] }
  | { kind: 'no-match'; all: string[] }
  | { kind: 'absent' };

/**
 * What the cache holds for `revision`: complete when our listing of the commit is recorded and every matching file
 * is in the snapshot with its size; 'unverified' for a snapshot without a listing (e.g. written by the Python tools),
 * which only offline mode accepts.
 */
async function fromCache(storage: string, revision: string, match: (path: string) => boolean): Promise<CacheLookup> {
  const commit = await readRef(storage, revision);
  if (!commit || !COMMIT_SHA.test(commit)) return { kind: 'absent' };
  const dir = snapshotDir(storage, commit);
  if (!(await isDirectory(dir))) return { kind: 'absent' };
  const manifest = await readManifest(storage, commit);
  if (!manifest) {
    const all = await walkFiles(dir);
    const files = all.filter(match);
    if (files.length === 0) return all.length ? { kind: 'no-match', all } : { kind: 'absent' };
    return { kind: 'unverified', result: { dir, source: 'cache', commit, files } };
  }
  const wanted = manifest.files.filter((f) => match(f.path));
  if (wanted.length === 0) return { kind: 'no-match', all: manifest.files.map((f) => f.path) };
  const missing: string[] = [];
  for (const f of wanted) {
    if ((await fileSize(join(dir, f.path))) !== f.size) missing.push(f.path);
  }
  if (missing.length) return { kind: 'incomplete', missing };
  return { kind: 'complete', result: { dir, source: 'cache', commit, files: wanted.map((f) => f.path) } };
}
