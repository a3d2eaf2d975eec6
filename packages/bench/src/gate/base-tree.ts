/**
 * The gate's base tree: the base commit checked out in a git worktree beside the candidate and installed from its
 * own lockfile (pnpm's store makes a repeat install a matter of links). Kept in a cache directory per repository
 * and commit, and reused while it is clean, so gating against the same base again costs nothing.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface BaseTree {
  readonly root: string;
  /** The full commit id. */
  readonly commit: string;
  /** Whether an existing checkout was reused. */
  readonly reused: boolean;
}

export interface BaseTreeOptions {
  /** Default: $QUANTBENCH_CACHE/gate, else ~/.cache/quantbench/gate. */
  readonly cacheDir?: string;
  /** Also build the CUDA addon in the base tree (where the candidate runs the CUDA engine). */
  readonly buildCudaAddon?: boolean;
  readonly onProgress?: (message: string) => void;
}

const READY_MARKER = '.quantbench-gate-ready';
/** Base trees kept per repository (the most recently used); older ones are removed. */
const KEPT_TREES = 4;

async function git(cwd: string, ...args: string[]): Promise<string> {
  return (await run('git', args, { cwd, maxBuffer: 16 * 2 ** 20 })).stdout.trim();
}

/** The full commit id `ref` names in the repository at `repoRoot`, or an error that says how to get it. */
export async function resolveCommit(repoRoot: string, ref: string): Promise<string> {
  try {
    return await git(repoRoot, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`);
  } catch {
    const shallow = await git(repoRoot, 'rev-parse', '--is-shallow-repository').catch(() => 'false');
    throw new Error(
      `base '${ref}' is not a commit in ${repoRoot}${shallow === 'true' ? ' (a shallow clone: fetch it with `git fetch origin <sha>` or clone with full history, e.g. actions/checkout with fetch-depth: 0)' : ' (check the ref, or fetch it)'}`,
    );
  }
}

function defaultCacheDir(): string {
  return join(process.env.QUANTBENCH_CACHE ?? join(homedir(), '.cache', 'quantbench'), 'gate');
}

async function isReady(dir: string, commit: string): Promise<boolean> {
  if (!existsSync(join(dir, READY_MARKER))) return false;
  try {
    const [head, status, marker] = await Promise.all([git(dir, 'rev-parse', 'HEAD'), git(dir, 'status', '--porcelain', '--untracked-files=no'), readFile(join(dir, READY_MARKER), 'utf8')]);
    return head === commit && status === '' && marker.trim() === commit;
  } catch {
    return false;
  }
}

/** Checks `ref` out beside the repository (or reuses the checkout) and installs it. */
export async function prepareBaseTree(repoRoot: string, ref: string, options: BaseTreeOptions = {}): Promise<BaseTree> {
  const commit = await resolveCommit(repoRoot, ref);
  // Keyed by the repository (its common git directory), so every worktree of one repository shares its base trees.
  const repository = resolve(repoRoot, await git(repoRoot, 'rev-parse', '--git-common-dir'));
  const repoKey = createHash('sha256').update(repository).digest('hex').slice(0, 12);
  const dir = join(options.cacheDir ?? defaultCacheDir(), repoKey, commit);
  if (await isReady(dir, commit)) {
    options.onProgress?.(`base ${commit.slice(0, 12)}: reusing ${dir}`);
    const now = new Date();
    await utimes(join(dir, READY_MARKER), now, now);
    return { root: dir, commit, reused: true };
  }
  options.onProgress?.(`base ${commit.slice(0, 12)}: checking out into ${dir}`);
  await rm(dir, { recursive: true, force: true });
  await git(repoRoot, 'worktree', 'prune');
  await mkdir(join(dir, '..'), { recursive: true });
  await git(repoRoot, 'worktree', 'add', '--detach', '--force', dir, commit);
  options.onProgress?.(`base ${commit.slice(0, 12)}: pnpm install --frozen-lockfile`);
  try {
    await run('pnpm', ['install', '--frozen-lockfile', '--prefer-offline', '--reporter=silent'], { cwd: dir, maxBuffer: 64 * 2 ** 20, env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } });
    if (options.buildCudaAddon) {
      options.onProgress?.(`base ${commit.slice(0, 12)}: building the CUDA addon`);
      await run('pnpm', ['--filter', '@quantbench/engine-cuda', 'build:addon'], { cwd: dir, maxBuffer: 64 * 2 ** 20 });
    }
  } catch (error) {
    const output = error && typeof error === 'object' && 'stderr' in error ? String((error as { stderr: unknown }).stderr).trim().split('\n').slice(-10).join('\n  ') : String(error);
    throw new Error(`base ${commit.slice(0, 12)}: installing its packages in ${dir} failed:\n  ${output}`);
  }
  await writeFile(join(dir, READY_MARKER), `${commit}\n`);
  await removeOldTrees(repoRoot, join(dir, '..'), dir);
  return { root: dir, commit, reused: false };
}

/** Keeps the KEPT_TREES most recently used base trees under `parent`, removing the others' worktrees. */
async function removeOldTrees(repoRoot: string, parent: string, keep: string): Promise<void> {
  const trees: { dir: string; used: number }[] = [];
  for (const name of await readdir(parent)) {
    const dir = join(parent, name);
    if (dir === keep) continue;
    const used = await stat(join(dir, READY_MARKER)).then((info) => info.mtimeMs, () => 0);
    trees.push({ dir, used });
  }
  trees.sort((a, b) => b.used - a.used);
  for (const { dir } of trees.slice(KEPT_TREES - 1)) {
    await git(repoRoot, 'worktree', 'remove', '--force', dir).catch(() => rm(dir, { recursive: true, force: true }));
  }
  await git(repoRoot, 'worktree', 'prune');
}
