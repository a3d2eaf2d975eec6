import { join } from 'node:path';
import type { Problem, TaskName } from '../types.js';
import { DatasetError, redownloadFix } from './errors.js';
import { fetchFiles, type FetchedFiles, type FetchOptions } from './fetch.js';
import { ISO_DATE, isPinned, manifestPath, readManifestFile, type DatasetManifest, type ManifestFile } from './manifest.js';
import { readRows, type RawRow } from './readers/index.js';
import { livecodebenchProblem } from './tasks/livecodebench.js';
import { aimeProblem, gsm8kProblem } from './tasks/math.js';
import { gpqaProblem } from './tasks/gpqa.js';
import { verifyFile } from './verify.js';

export interface DateWindow {
  /** First contest date included, `YYYY-MM-DD`. */
  readonly from?: string;
  /** Last contest date included, `YYYY-MM-DD`. */
  readonly to?: string;
}

export interface LoadTaskOptions extends FetchOptions {
  /** Load the small fixture set (`datasets/fixtures/<task>.json`) instead of the real one. */
  fixtures?: boolean;
  /** A manifest file to use instead of `datasets/[fixtures/]<task>.json`. */
  manifest?: string;
  /** Default: the repo's datasets/ folder, or $QUANTBENCH_DATASETS. */
  datasetsDir?: string;
  /** Keep the first `limit` problems (after release/window selection), in file order. */
  limit?: number;
  /** LiveCodeBench: the release to load (`release_v5`, `release_v6`, ...). Default: the manifest's defaultRelease. */
  release?: string;
  /** LiveCodeBench: keep problems whose contest_date lies in the window (both ends included). */
  window?: DateWindow;
  /** Where warnings go (unpinned manifests). Default: a loud block on stderr. */
  onWarning?: (message: string) => void;
}

export interface SourceFile {
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  readonly rows: number;
}

/** Where the problems came from: record it with every result. */
export interface DatasetSource {
  readonly task: TaskName;
  readonly title: string;
  /** The manifest file used. */
  readonly manifest: string;
  /** Hub repo id (`openai/gsm8k`), or the local directory for fixtures. */
  readonly repo: string;
  /** The commit the files came from; null for a local directory. */
  readonly revision: string | null;
  /** True when the manifest pins the commit and every file's sha256, so the files were verified against it. */
  readonly pinned: boolean;
  readonly origin: 'local' | 'cache' | 'download';
  readonly config: string | null;
  readonly split: string;
  readonly release?: string;
  readonly window?: DateWindow;
  /** The files read, with the sha256 and size measured on this machine (equal to the manifest's where it pins them). */
  readonly files: readonly SourceFile[];
}

export interface LoadedTask {
  readonly task: TaskName;
  readonly problems: Problem[];
  readonly source: DatasetSource;
  /** Rows read before the window and limit were applied. */
  readonly totalRows: number;
}

function defaultWarn(message: string): void {
  const bar = '!'.repeat(100);
  process.stderr.write(`\n${bar}\nWARNING: ${message}\n${bar}\n\n`);
}

function adapter(m: DatasetManifest): (r: RawRow) => Problem {
  switch (m.task) {
    case 'gsm8k':
      return (r) => gsm8kProblem(r, m.source.split);
    case 'aime24':
    case 'aime25': {
      const task = m.task;
      return (r) => aimeProblem(r, task);
    }
    case 'gpqa-diamond':
      return gpqaProblem;
    case 'livecodebench':
      return livecodebenchProblem;
  }
}

/** The files a load reads: a release's, or all of them. */
export function selectFiles(m: DatasetManifest, release: string | undefined): { files: ManifestFile[]; release?: string } {
  if (!m.releases) {
    if (release !== undefined) throw new DatasetError('options', `${m.title} has no releases (asked for '${release}')`);
    return { files: m.files };
  }
  const name = release ?? m.defaultRelease;
  const r = name !== undefined ? m.releases[name] : undefined;
  if (!r || name === undefined) {
    throw new DatasetError('options', `unknown release '${name}' of ${m.title}; known: ${Object.keys(m.releases).join(', ')}`);
  }
  return { files: m.files.filter((f) => r.files.includes(f.path)), release: name };
}

function unpinnedMessage(m: DatasetManifest, file: string, files: readonly ManifestFile[], fetched: FetchedFiles): string {
  const what: string[] = [];
  if (m.source.kind === 'hub' && m.source.revision === null) {
    what.push(`no pinned revision (downloaded from '${m.source.ref}', now commit ${fetched.commit ?? '?'}, which can move)`);
  }
  const loose = files.filter((f) => f.sha256 === null).map((f) => f.path);
  if (loose.length) what.push(`no sha256 for ${loose.join(', ')}`);
  return (
    `dataset manifest ${file} is UNPINNED: ${what.join('; ')}. The files are checked for row counts and schema only, ` +
    'so results are not reproducible from this manifest. Pin it: `pnpm quantbench lock-dataset --task ' +
    `${m.task}\` (lockManifest), which records the commit and each file's sha256 and size, and commit the manifest.`
  );
}

export interface ReadResult {
  readonly problems: Problem[];
  readonly fetched: FetchedFiles;
  readonly files: SourceFile[];
}

/** Fetch, verify and read `files` of a manifest into problems; every row of every file is read and checked. */
export async function readManifestFiles(m: DatasetManifest, file: string, files: readonly ManifestFile[], o: FetchOptions): Promise<ReadResult> {
  const fetched = await fetchFiles(m, file, files, o);
  const toProblem = adapter(m);
  const problems: Problem[] = [];
  const seen = new Map<string, string>();
  const facts: SourceFile[] = [];
  for (const f of files) {
    const path = join(fetched.dir, f.path);
    const { sha256, size } = await verifyFile(f, path, f.path);
    let rows = 0;
    for await (const raw of readRows(m.reader, path, f.path)) {
      rows++;
      const p = toProblem(raw);
      const before = seen.get(p.id);
      if (before !== undefined) {
        throw new DatasetError('row', `duplicate problem id '${p.id}' (first at ${before})`, { file: f.path, row: raw.row, fix: redownloadFix(path) });
      }
      seen.set(p.id, `${f.path} row ${raw.row}`);
      problems.push(p);
    }
    if (rows !== f.rows) {
      throw new DatasetError('row-count', `the file has ${rows} rows but the manifest expects ${f.rows}`, {
        file: f.path,
        fix:
          `${redownloadFix(path)}. A partial run is never made from a file with the wrong number of rows` +
          (m.source.kind === 'hub' && m.source.revision === null ? '; this manifest is unpinned, so the source may simply have changed' : ''),
      });
    }
    facts.push({ path: f.path, sha256, size, rows });
  }
  return { problems, fetched, files: facts };
}

function checkWindow(w: DateWindow | undefined): void {
  for (const k of ['from', 'to'] as const) {
    const v = w?.[k];
    if (v !== undefined && (!ISO_DATE.test(v) || Number.isNaN(Date.parse(v)))) {
      throw new DatasetError('options', `window.${k} must be a date YYYY-MM-DD, got ${JSON.stringify(v)}`);
    }
  }
  if (w?.from !== undefined && w.to !== undefined && w.from > w.to) throw new DatasetError('options', `window.from (${w.from}) is after window.to (${w.to})`);
}

/**
 * The problems of a task, verified: `datasets/<task>.json` (or the fixture set) says where they come from; the files
 * are downloaded and cached through packages/model's Hub code (or read from the fixture directory), checked against
 * the manifest's sha256, size and row counts, and read into Problems. Any mismatch or malformed row is an error: a
 * run never starts on a partial or altered dataset.
 */
export async function loadTask(task: TaskName, options: LoadTaskOptions = {}): Promise<LoadedTask> {
  const file =
    options.manifest ??
    manifestPath(task, {
      ...(options.datasetsDir !== undefined ? { datasetsDir: options.datasetsDir } : {}),
      ...(options.fixtures !== undefined ? { fixtures: options.fixtures } : {}),
    });
  const m = await readManifestFile(file);
  if (m.task !== task) throw new DatasetError('manifest', `the manifest is for task '${m.task}', not '${task}'`, { file });
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 1)) {
    throw new DatasetError('options', `limit must be a positive integer, got ${options.limit}`);
  }
  if (options.window !== undefined && m.task !== 'livecodebench') throw new DatasetError('options', 'a date window applies to livecodebench only');
  checkWindow(options.window);

  const { files, release } = selectFiles(m, options.release);
  const read = await readManifestFiles(m, file, files, options);
  const pinned = isPinned(m, files);
  if (!pinned) (options.onWarning ?? defaultWarn)(unpinnedMessage(m, file, files, read.fetched));

  let problems = read.problems;
  const w = options.window;
  if (w) {
    problems = problems.filter((p) => {
      const d = p.kind === 'code' ? p.contestDate.slice(0, 10) : '';
      return (w.from === undefined || d >= w.from) && (w.to === undefined || d <= w.to);
    });
  }
  if (options.limit !== undefined) problems = problems.slice(0, options.limit);

  return {
    task,
    problems,
    totalRows: read.problems.length,
    source: {
      task,
      title: m.title,
      manifest: file,
      repo: read.fetched.repo,
      revision: read.fetched.commit,
      pinned,
      origin: read.fetched.origin,
      config: m.source.config,
      split: m.source.split,
      ...(release !== undefined ? { release } : {}),
      ...(w !== undefined ? { window: w } : {}),
      files: read.files,
    },
  };
}
