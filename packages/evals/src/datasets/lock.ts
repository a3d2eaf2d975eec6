import type { TaskName } from '../types.js';
import { DatasetError } from './errors.js';
import type { FetchOptions } from './fetch.js';
import { readManifestFiles } from './load.js';
import { manifestPath, readManifestFile, TASK_NAMES, writeManifestFile, type DatasetManifest } from './manifest.js';

export interface LockOptions extends FetchOptions {
  /** Lock `datasets/fixtures/<task>.json` (when the target is a task name). */
  fixtures?: boolean;
  datasetsDir?: string;
  /** Verify and report, but do not rewrite the manifest. */
  dryRun?: boolean;
  /** Clock for `lockedAt` (tests). */
  now?: () => Date;
}

export interface LockResult {
  readonly manifest: string;
  /** True when the manifest gained a revision or hashes (and was rewritten, unless dryRun). */
  readonly changed: boolean;
  readonly revision: string | null;
  readonly locked: DatasetManifest;
}

/**
 * Pins a manifest: downloads (or finds in the cache) every file at the pinned revision, or at `source.ref` when
 * unpinned; resolves the commit; reads and checks every row and row count; records the commit and each file's
 * sha256 and size; and rewrites the JSON atomically. A value already pinned is verified, never replaced: when it
 * differs, lock fails, and re-pinning to a new upstream version is an edit of the manifest (set the value to null)
 * that shows up in review. On an already pinned manifest, lock is a full verification that writes nothing.
 */
export async function lockManifest(target: TaskName | string, options: LockOptions = {}): Promise<LockResult> {
  const file = (TASK_NAMES as readonly string[]).includes(target)
    ? manifestPath(target as TaskName, {
        ...(options.datasetsDir !== undefined ? { datasetsDir: options.datasetsDir } : {}),
        ...(options.fixtures !== undefined ? { fixtures: options.fixtures } : {}),
      })
    : target;
  const m = await readManifestFile(file);
  const read = await readManifestFiles(m, file, m.files, options);

  let changed = false;
  const source = { ...m.source };
  if (source.kind === 'hub') {
    if (read.fetched.commit === null) throw new DatasetError('fetch', 'the Hub download did not report a commit', { file });
    if (source.revision !== null && source.revision !== read.fetched.commit) {
      throw new DatasetError('checksum', `the pinned revision ${source.revision} resolved to commit ${read.fetched.commit}`, { file });
    }
    if (source.revision === null) changed = true;
    source.revision = read.fetched.commit;
  }
  const files = m.files.map((f) => {
    const got = read.files.find((x) => x.path === f.path);
    if (!got) throw new DatasetError('fetch', 'the file was not read', { file: f.path });
    if (f.sha256 === null || f.size === null) changed = true;
    return { ...f, sha256: got.sha256, size: got.size };
  });
  const locked: DatasetManifest = {
    ...m,
    source,
    files,
    lockedAt: changed ? (options.now ?? (() => new Date()))().toISOString() : m.lockedAt,
  };
  if (changed && !options.dryRun) await writeManifestFile(file, locked);
  return { manifest: file, changed, revision: read.fetched.commit, locked };
}
