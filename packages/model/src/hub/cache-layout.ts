import { copyFile, mkdir, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { getRepoFolderName } from '@huggingface/hub';
import { z } from 'zod';

/**
 * The huggingface_hub cache layout, shared with the Python tools:
 *   <cacheDir>/models--Org--Name/blobs/<etag>                      file contents (sha256 for LFS files, git oid otherwise)
 *   <cacheDir>/models--Org--Name/blobs/<etag>.incomplete           a download in progress (resumed from its size)
 *   <cacheDir>/models--Org--Name/snapshots/<commit>/<path>         relative symlink to the blob
 *   <cacheDir>/models--Org--Name/refs/<revision>                   the commit a branch/tag resolved to
 * plus our own record of a commit's file listing, so that a later call can tell whether a snapshot is complete
 * without asking the Hub:
 *   <cacheDir>/models--Org--Name/.quantbench/<commit>.json
 */

export interface HubRepo {
  readonly type: 'model' | 'dataset';
  readonly name: string;
}

export const COMMIT_SHA = /^[0-9a-f]{40}$/;

export function repoFolder(cacheDir: string, repo: HubRepo): string {
  return join(cacheDir, getRepoFolderName(repo));
}
export function blobPath(storage: string, etag: string): string {
  return join(storage, 'blobs', etag);
}
export function incompletePath(blob: string): string {
  return `${blob}.incomplete`;
}
export function snapshotDir(storage: string, commit: string): string {
  return join(storage, 'snapshots', commit);
}
export function refPath(storage: string, revision: string): string {
  return join(storage, 'refs', revision);
}
function manifestPath(storage: string, commit: string): string {
  return join(storage, '.quantbench', `${commit}.json`);
}

/** A repo path from the Hub, joined under `dir`; rejects paths that would escape it. */
export function safeJoin(dir: string, repoPath: string): string {
  const full = resolve(dir, repoPath);
  if (repoPath === '' || repoPath.includes('\\') || !full.startsWith(resolve(dir) + sep)) {
    throw new Error(`unsafe file path in repo listing: '${repoPath}'`);
  }
  return full;
}

/** Size of a file (following symlinks), or undefined when it does not exist. */
export async function fileSize(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** The commit `revision` points to in the cache: the revision itself when it is a full sha, else refs/<revision>. */
export async function readRef(storage: string, revision: string): Promise<string | undefined> {
  if (COMMIT_SHA.test(revision)) return revision;
  try {
    const commit = (await readFile(refPath(storage, revision), 'utf8')).trim();
    return COMMIT_SHA.test(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}

export async function writeRef(storage: string, revision: string, commit: string): Promise<void> {
  if (revision !== commit) await writeAtomic(refPath(storage, revision), commit);
}

/** Points snapshots/<commit>/<path> at the blob (relative symlink, as huggingface_hub does; a copy where symlinks fail). */
export async function linkIntoSnapshot(blob: string, pointer: string): Promise<void> {
  await mkdir(dirname(pointer), { recursive: true });
  await rm(pointer, { force: true });
  try {
    await symlink(relative(dirname(pointer), blob), pointer);
  } catch {
    await copyFile(blob, pointer);
  }
}

const manifestFileSchema = z.object({
  path: z.string().min(1),
  size: z.number().int().nonnegative(),
  etag: z.string().min(1),
  sha256: z.string().optional(),
  gitOid: z.string().optional(),
});
export type RepoFile = z.infer<typeof manifestFileSchema>;

const manifestSchema = z.object({
  version: z.literal(1),
  type: z.enum(['model', 'dataset']),
  name: z.string(),
  commit: z.string(),
  files: z.array(manifestFileSchema),
});
export type SnapshotManifest = z.infer<typeof manifestSchema>;

export async function readManifest(storage: string, commit: string): Promise<SnapshotManifest | undefined> {
  try {
    const parsed = manifestSchema.safeParse(JSON.parse(await readFile(manifestPath(storage, commit), 'utf8')));
    return parsed.success && parsed.data.commit === commit ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function writeManifest(storage: string, manifest: SnapshotManifest): Promise<void> {
  await writeAtomic(manifestPath(storage, manifest.commit), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Repo-relative paths of the files under `dir` (following symlinks; skipping dot-folders such as .git and .cache). */
export async function walkFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(sub: string): Promise<void> {
    const entries = await readdir(join(dir, sub), { withFileTypes: true });
    for (const e of entries) {
      const rel = sub === '' ? e.name : `${sub}/${e.name}`;
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        try {
          const s = await stat(join(dir, rel));
          isDir = s.isDirectory();
          isFile = s.isFile();
        } catch {
          continue; // dangling link
        }
      }
      if (isDir && !e.name.startsWith('.')) await walk(rel);
      else if (isFile) out.push(rel);
    }
  }
  await walk('');
  return out.sort();
}
