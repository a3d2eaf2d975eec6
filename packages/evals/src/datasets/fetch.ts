import { dirname, resolve } from 'node:path';
import { HubError, resolveRepo, type DownloadProgress } from '@quantbench/model';
import { DatasetError } from './errors.js';
import type { DatasetManifest, ManifestFile } from './manifest.js';

/** How to reach the files: the options of packages/model's Hub download, which does the downloading and caching. */
export interface FetchOptions {
  /** Default: $QUANTBENCH_CACHE, else the Hugging Face hub cache ($HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** Use the cache only. Default: HF_HUB_OFFLINE=1. */
  offline?: boolean;
  /** Hub token (`hf_...`). Default: $HF_TOKEN. Needed for gated datasets (GPQA). */
  token?: string;
  hubUrl?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
}

export interface FetchedFiles {
  /** Directory holding the files at their repo paths. */
  readonly dir: string;
  /** The commit the files come from; null for a local directory. */
  readonly commit: string | null;
  readonly origin: 'local' | 'cache' | 'download';
  /** Hub repo id, or the local directory. */
  readonly repo: string;
}

/** An fnmatch pattern matching exactly `path` (huggingface_hub allow_patterns semantics). */
function exactPattern(path: string): string {
  return path.replace(/[*?[]/g, (c) => `[${c}]`);
}

function gatedError(manifest: DatasetManifest, hubUrl: string, detail: string, cause?: unknown): DatasetError {
  const src = manifest.source;
  const repo = src.kind === 'hub' ? src.repo : src.dir;
  const page = `${hubUrl.replace(/\/+$/, '')}/datasets/${repo}`;
  return new DatasetError(
    'gated',
    `${manifest.title} (${repo}) is a gated dataset: ${detail}. To get access: log in to Hugging Face, open ${page}, ` +
      'accept its conditions (GPQA asks that its questions are not revealed online in plain text) and wait for approval; ' +
      `then create a read token at ${hubUrl.replace(/\/+$/, '')}/settings/tokens and set HF_TOKEN=hf_... (or pass { token }). ` +
      'Once downloaded the files are cached and load offline (HF_HUB_OFFLINE=1) without a token',
    { fix: `request access at ${page}, then set HF_TOKEN`, cause },
  );
}

/** Puts the manifest's `files` into a directory: the local directory, or the Hub cache snapshot (downloading what it lacks). */
export async function fetchFiles(manifest: DatasetManifest, manifestFile: string, files: readonly ManifestFile[], o: FetchOptions): Promise<FetchedFiles> {
  const allowPatterns = files.map((f) => exactPattern(f.path));
  const src = manifest.source;
  if (src.kind === 'local') {
    const dir = resolve(dirname(manifestFile), src.dir);
    let resolved;
    try {
      resolved = await resolveRepo({ type: 'dataset', id: dir }, { allowPatterns });
    } catch (e) {
      throw new DatasetError('fetch', `cannot use the local directory ${dir}: ${e instanceof Error ? e.message : String(e)}`, {
        file: manifestFile,
        fix: 'check the manifest\'s source.dir (relative to the manifest file)',
        cause: e,
      });
    }
    const missing = files.filter((f) => !resolved.files.includes(f.path));
    if (missing.length) {
      throw new DatasetError('fetch', `missing from ${dir}: ${missing.map((f) => f.path).join(', ')}`, {
        file: manifestFile,
        fix: 'restore the files (git checkout of the fixtures, or regenerate them with the scripts in datasets/fixtures/)',
      });
    }
    return { dir: resolved.dir, commit: null, origin: 'local', repo: dir };
  }

  const hubUrl = o.hubUrl ?? (process.env['HF_ENDPOINT']?.trim() || 'https://huggingface.co');
  const token = o.token ?? (process.env['HF_TOKEN']?.trim() || undefined);
  const spec = { type: 'dataset' as const, id: src.repo, revision: src.revision ?? src.ref };
  const common = {
    allowPatterns,
    ...(o.cacheDir !== undefined ? { cacheDir: o.cacheDir } : {}),
    ...(o.hubUrl !== undefined ? { hubUrl: o.hubUrl } : {}),
    ...(o.fetch !== undefined ? { fetch: o.fetch } : {}),
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
    ...(o.onProgress !== undefined ? { onProgress: o.onProgress } : {}),
  };

  try {
    if (manifest.gated && token === undefined) {
      // Without a token a gated repo can only come from the cache: look there, and explain access if it is not.
      try {
        const cached = await resolveRepo(spec, { ...common, offline: true });
        return { dir: cached.dir, commit: cached.commit ?? null, origin: 'cache', repo: src.repo };
      } catch (e) {
        if (e instanceof HubError && (e.kind === 'not-cached' || e.kind === 'no-match')) {
          throw gatedError(manifest, hubUrl, 'it is not in the cache and HF_TOKEN is not set, so it cannot be downloaded', e);
        }
        throw e;
      }
    }
    const r = await resolveRepo(spec, { ...common, ...(o.offline !== undefined ? { offline: o.offline } : {}), ...(token !== undefined ? { token } : {}) });
    return { dir: r.dir, commit: r.commit ?? null, origin: r.source, repo: src.repo };
  } catch (e) {
    if (e instanceof DatasetError) throw e;
    if (e instanceof HubError) {
      if (e.kind === 'gated' || (manifest.gated && e.kind === 'unauthorized')) {
        throw gatedError(manifest, hubUrl, `the Hub refused access (HTTP ${e.status ?? '401/403'})${token ? ' with the token given: its account has no access yet, or it lacks read permission' : ''}`, e);
      }
      throw new DatasetError('fetch', `${manifest.title}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}
