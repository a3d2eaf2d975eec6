/**
 * Run reports: every benchmark or evaluation run writes `reports/runs/<time>-<commit>[-<name>]/` with
 * `results.json` (tidy rows, schema-validated and versioned), `results.csv` (the same rows) and `env.json`
 * (machine, runtime, commit). Finished rows are written as they come, so an interrupted run keeps its work.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import {
  RESULTS_SCHEMA_VERSION,
  type ResultRow,
  type ResultsFile,
  ResultsFileSchema,
  ResultRowSchema,
} from '@quantbench/core';
import Papa from 'papaparse';

/** `abc1234`, with `-dirty` when the working tree has uncommitted changes; `unknown` outside git. */
export function gitCommit(cwd = process.cwd()): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${commit}-dirty` : commit;
  } catch {
    return 'unknown';
  }
}

export interface RunEnvironment {
  readonly commit: string;
  readonly createdAt: string;
  readonly machine: { platform: string; release: string; arch: string; cpu: string; cores: number; memoryBytes: number };
  readonly runtime: { node: string; v8: string };
  /** Free-form extras: adapters, GPU, driver, kernel source hashes. */
  readonly extra: Record<string, unknown>;
}

export function describeEnvironment(extra: Record<string, unknown> = {}): RunEnvironment {
  return {
    commit: gitCommit(),
    createdAt: new Date().toISOString(),
    machine: {
      platform: platform(),
      release: release(),
      arch: arch(),
      cpu: cpus()[0]?.model.trim() ?? 'unknown',
      cores: cpus().length,
      memoryBytes: totalmem(),
    },
    runtime: { node: process.versions.node, v8: process.versions.v8 },
    extra,
  };
}

export interface RunReport {
  readonly runId: string;
  readonly dir: string;
  /** Validates and appends rows, then rewrites the three files atomically. */
  add(rows: readonly ResultRow[]): Promise<void>;
  readonly rows: readonly ResultRow[];
  /** Merges `extra` into env.json's extras and rewrites it (for what is only known during the run). */
  updateEnvironment(extra: Record<string, unknown>): Promise<void>;
}

/** `2026-11-30T01-40-12Z-abc1234-cpu-engine`: sortable by time, names the commit. */
export function makeRunId(commit: string, name?: string, now = new Date()): string {
  const time = now.toISOString().replace(/\.\d+Z$/, 'Z').replaceAll(':', '-');
  return [time, commit, name].filter(Boolean).join('-');
}

/** Writes through a `.partial` file and a rename, so a reader never sees half a file. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  await writeFile(`${path}.partial`, text);
  await rename(`${path}.partial`, path);
}

/** env.json of a run directory: the run id and the environment. */
export function writeEnvironmentFile(dir: string, runId: string, environment: RunEnvironment): Promise<void> {
  return writeAtomically(join(dir, 'env.json'), `${JSON.stringify({ runId, ...environment }, null, 2)}\n`);
}

/** Validates `rows` and (re)writes a run directory's results.json and results.csv (papaparse), atomically. */
export async function writeResultsFiles(dir: string, runId: string, createdAt: string, rows: readonly ResultRow[]): Promise<ResultsFile> {
  const file: ResultsFile = ResultsFileSchema.parse({ schemaVersion: RESULTS_SCHEMA_VERSION, runId, createdAt, rows });
  await writeAtomically(join(dir, 'results.json'), `${JSON.stringify(file, null, 2)}\n`);
  await writeAtomically(join(dir, 'results.csv'), `${Papa.unparse(file.rows, { columns: Object.keys(ResultRowSchema.shape), newline: '\n' })}\n`);
  return file;
}

export async function createRunReport(options: { reportsDir: string; name?: string; environment: RunEnvironment }): Promise<RunReport> {
  const runId = makeRunId(options.environment.commit, options.name);
  const dir = join(options.reportsDir, 'runs', runId);
  await mkdir(dir, { recursive: true });
  let environment = options.environment;
  const writeEnvironment = (): Promise<void> => writeEnvironmentFile(dir, runId, environment);
  await writeEnvironment();
  const rows: ResultRow[] = [];
  return {
    runId,
    dir,
    rows,
    async updateEnvironment(extra) {
      environment = { ...environment, extra: { ...environment.extra, ...extra } };
      await writeEnvironment();
    },
    async add(newRows) {
      for (const row of newRows) rows.push(ResultRowSchema.parse(row));
      await writeResultsFiles(dir, runId, options.environment.createdAt, rows);
    },
  };
}
