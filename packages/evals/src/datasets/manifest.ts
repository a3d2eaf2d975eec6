import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prettifyError, z } from 'zod';
import type { TaskName } from '../types.js';
import { DatasetError } from './errors.js';

/**
 * A dataset manifest (`datasets/<task>.json`): where a task's problems come from, pinned as far as is known.
 *
 * Pinning is honest: `source.revision` and each file's `sha256`/`size` may be `null` ("unpinned") when they were not
 * known when the manifest was written. Such a manifest still loads, downloading from `source.ref` with a loud warning;
 * `lockManifest` (CLI: `quantbench lock-dataset --task <task>`) resolves the commit, records every file's sha256 and size and
 * rewrites the JSON, after which every load verifies them. Row counts are always stated and always checked.
 */

export const TASK_NAMES = ['gsm8k', 'aime24', 'aime25', 'gpqa-diamond', 'livecodebench'] as const satisfies readonly TaskName[];

export const MANIFEST_SCHEMA_ID = 'quantbench.dataset-manifest/v1';

const SHA256 = /^[0-9a-f]{64}$/;
const COMMIT = /^[0-9a-f]{40}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

const repoPath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.includes('\\') && !p.split('/').some((s) => s === '..' || s === '.' || s === ''), 'must be a plain relative path inside the repo');

export const manifestFileSchema = z.object({
  /** Path inside the repo (or the local directory). */
  path: repoPath,
  /** Data rows the file holds (CSV: records after the header; jsonl: non-empty lines). */
  rows: z.number().int().positive(),
  /** sha256 of the file's bytes, or null until `lock` records it. */
  sha256: z.string().regex(SHA256, 'sha256 must be 64 lowercase hex digits (or null: unpinned)').nullable(),
  /** Size in bytes, or null until `lock` records it. */
  size: z.number().int().nonnegative().nullable(),
});
export type ManifestFile = z.infer<typeof manifestFileSchema>;

const hubSourceSchema = z.object({
  kind: z.literal('hub'),
  /** Hugging Face repo id, e.g. `openai/gsm8k`. */
  repo: z.string().regex(/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/, 'a Hub repo id looks like Org/Name'),
  repoType: z.literal('dataset'),
  /** Branch or tag to download from while `revision` is unpinned. */
  ref: z.string().min(1).default('main'),
  /** The pinned commit (40 hex digits), or null: unpinned. */
  revision: z.string().regex(COMMIT, 'revision must be a full 40-hex-digit commit sha (or null: unpinned)').nullable(),
  /** The `datasets` config and split the files make up (informational: the files are what is read). */
  config: z.string().min(1).nullable(),
  split: z.string().min(1),
});

const localSourceSchema = z.object({
  kind: z.literal('local'),
  /** Directory holding the files, relative to the manifest file. */
  dir: z.string().min(1),
  /** The Hub repo whose format and columns the files copy (fixtures). */
  mimics: z.string().optional(),
  config: z.string().min(1).nullable(),
  split: z.string().min(1),
});

export const releaseSchema = z.object({
  /** The files (paths from `files`) that make up the release; LiveCodeBench's accumulate: v5 = test..test5. */
  files: z.array(repoPath).min(1),
  rows: z.number().int().positive(),
  description: z.string().optional(),
});

export const manifestSchema = z
  .object({
    $schema: z.literal(MANIFEST_SCHEMA_ID),
    task: z.enum(TASK_NAMES),
    title: z.string().min(1),
    source: z.discriminatedUnion('kind', [hubSourceSchema, localSourceSchema]),
    reader: z.enum(['parquet', 'jsonl', 'csv']),
    files: z.array(manifestFileSchema).min(1),
    /** Total rows over all files. */
    rows: z.number().int().positive(),
    /** Named subsets of the files (LiveCodeBench releases). */
    releases: z.record(z.string().min(1), releaseSchema).optional(),
    /** The release loaded when none is asked for; required when `releases` is present. */
    defaultRelease: z.string().min(1).optional(),
    gated: z.boolean(),
    licence: z.string().min(1),
    notes: z.array(z.string()).default([]),
    /** When `lock` last pinned or verified this manifest (ISO time), or null. */
    lockedAt: z.string().nullable().default(null),
  })
  .superRefine((m, ctx) => {
    const paths = new Set<string>();
    for (const [i, f] of m.files.entries()) {
      if (paths.has(f.path)) ctx.addIssue({ code: 'custom', path: ['files', i, 'path'], message: `duplicate file '${f.path}'` });
      paths.add(f.path);
      if ((f.sha256 === null) !== (f.size === null)) {
        ctx.addIssue({ code: 'custom', path: ['files', i], message: 'sha256 and size are pinned together: both set or both null' });
      }
    }
    const total = m.files.reduce((n, f) => n + f.rows, 0);
    if (total !== m.rows) ctx.addIssue({ code: 'custom', path: ['rows'], message: `rows is ${m.rows} but the files' rows add up to ${total}` });
    if (m.releases) {
      for (const [name, r] of Object.entries(m.releases)) {
        let sum = 0;
        for (const p of r.files) {
          const f = m.files.find((x) => x.path === p);
          if (!f) ctx.addIssue({ code: 'custom', path: ['releases', name, 'files'], message: `release '${name}' names '${p}', which is not in files` });
          else sum += f.rows;
        }
        if (sum !== r.rows) ctx.addIssue({ code: 'custom', path: ['releases', name, 'rows'], message: `release '${name}' says ${r.rows} rows but its files hold ${sum}` });
      }
      if (m.defaultRelease === undefined || !(m.defaultRelease in m.releases)) {
        ctx.addIssue({ code: 'custom', path: ['defaultRelease'], message: 'defaultRelease must name one of releases' });
      }
    } else if (m.defaultRelease !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['defaultRelease'], message: 'defaultRelease without releases' });
    }
  });

export type DatasetManifest = z.infer<typeof manifestSchema>;
export type ManifestSource = DatasetManifest['source'];

/** `YYYY-MM-DD`. */
export const ISO_DATE = DATE;

/** The repo's `datasets/` folder (this file is <repo>/packages/evals/{src,dist}/datasets/manifest.*). */
export function defaultDatasetsDir(env: NodeJS.ProcessEnv = process.env): string {
  const own = env['QUANTBENCH_DATASETS']?.trim();
  if (own) return resolve(own);
  return resolve(dirname(fileURLToPath(import.meta.url)), '../../../../datasets');
}

/** Where the manifest for `task` lives: `datasets/<task>.json`, or `datasets/fixtures/<task>.json`. */
export function manifestPath(task: TaskName, options: { datasetsDir?: string; fixtures?: boolean } = {}): string {
  const dir = options.datasetsDir ?? defaultDatasetsDir();
  return options.fixtures ? join(dir, 'fixtures', `${task}.json`) : join(dir, `${task}.json`);
}

export function parseManifest(value: unknown, where: string): DatasetManifest {
  const r = manifestSchema.safeParse(value);
  if (!r.success) {
    throw new DatasetError('manifest', `invalid dataset manifest:\n${prettifyError(r.error)}`, {
      file: where,
      fix: 'correct the manifest (see packages/evals/src/datasets/manifest.ts for the schema), or restore it from git',
    });
  }
  return r.data;
}

export async function readManifestFile(path: string): Promise<DatasetManifest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new DatasetError('manifest', `cannot read the dataset manifest (${(e as NodeJS.ErrnoException).code ?? String(e)})`, {
      file: path,
      fix: 'check the path; the manifests live in the repo root datasets/ folder (or set QUANTBENCH_DATASETS)',
      cause: e,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DatasetError('manifest', `not valid JSON: ${e instanceof Error ? e.message : String(e)}`, { file: path, fix: 'restore it from git', cause: e });
  }
  return parseManifest(json, path);
}

/** Rewrites a manifest atomically (temp file in the same folder, then rename), as 2-space JSON with a final newline. */
export async function writeManifestFile(path: string, manifest: DatasetManifest): Promise<void> {
  const checked = parseManifest(manifest, path);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(checked, null, 2)}\n`);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** True when the commit and every file of `files` are pinned. */
export function isPinned(manifest: DatasetManifest, files: readonly ManifestFile[] = manifest.files): boolean {
  const revisionPinned = manifest.source.kind === 'local' || manifest.source.revision !== null;
  return revisionPinned && files.every((f) => f.sha256 !== null && f.size !== null);
}
