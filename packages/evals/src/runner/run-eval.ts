/**
 * An evaluation run: tasks × kernel modes × thinking modes, n samples per problem, on one engine.
 *
 * Layout of the run directory (`--out`, else `reports/runs/<time>-<commit>[-name]/`):
 *   env.json            machine, runtime, commit (as `@quantbench/bench`'s createRunReport writes it) + the plan
 *   samples/<task>-<kernel>-thinking-<mode>.jsonl   one line per sample, appended and fsynced as they finish
 *   results.json/.csv   tidy rows (core's results schema), recomputed from the JSONL at the end of every run
 *   summary.md          the summary table
 *
 * A rerun with the same `--out` resumes: finished samples are read back and not generated again; the run id and
 * creation time of the first run are kept.
 *
 * Models load once per kernel mode (BF16 checkpoint for `bf16`, the FP8 checkpoint for `w8a16` and `w8a8`) with
 * `maxBatch = concurrency` and a context just long enough for the longest prompt plus the max new tokens.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeEnvironment, makeRunId, type RunEnvironment, writeAtomically, writeEnvironmentFile, writeResultsFiles } from '@quantbench/bench';
import {
  type Engine,
  type EngineCapabilities,
  type KernelMode,
  type LoadedModel,
  type ResultRow,
} from '@quantbench/core';
import { loadTokenizer } from '@quantbench/model';
import { cellMetrics, type CellMetrics, pairedDelta, type PairedDelta } from '../metrics/cell.js';
import { cellRows, cellTableLines, deltaRows, deltaTableLines, formatTable, type RowContext, type TableLine } from '../metrics/report.js';
import type { ThinkingMode } from '../prompts/index.js';
import { toGenerateRequest } from '../prompts/index.js';
import type { TaskName } from '../types.js';
import type { KitTask, TaskKit } from './kit.js';
import { type ProgressSink, silentProgress } from './progress.js';
import type { SampleRecord } from './records.js';
import { type CellSpec, planCell, type PlanCellOptions, runCells } from './run-cell.js';

export interface EvalPlan {
  readonly tasks: readonly TaskName[];
  readonly kernels: readonly KernelMode[];
  readonly thinking: readonly ThinkingMode[];
  /** Samples per problem (n). */
  readonly samples: number;
  /** First N problems of each task. */
  readonly limit?: number;
  /** Overrides the prompts' default max new tokens. */
  readonly maxNewTokens?: number;
  /** Run seed: sample seeds and the bootstrap derive from it. */
  readonly seed: number;
  /** Most sequences in flight at once (the model's maxBatch). */
  readonly concurrency: number;
  /** Requests per generate call (default 4 × concurrency); a killed run loses at most one call's samples. */
  readonly chunkSize?: number;
  /** Use the datasets' fixture sets. */
  readonly fixtures: boolean;
  /** Bootstrap resamples B (default 10,000). */
  readonly resamples?: number;
}

export interface EvalModels {
  /** Model directory for `bf16`. */
  readonly bf16Dir?: string;
  /** Model directory for `w8a16` and `w8a8`. */
  readonly fp8Dir?: string;
  /** What the user asked for (a repo id or directory), for env.json. */
  readonly bf16Spec?: string;
  readonly fp8Spec?: string;
  /** The synthetic random-weight checkpoint: accuracies are meaningless, and every output says so. */
  readonly synthetic: boolean;
}

export interface RunEvalOptions {
  readonly plan: EvalPlan;
  readonly models: EvalModels;
  readonly engine: Engine;
  readonly kit: TaskKit;
  /** The run directory; reusing one resumes it. Default `<reportsDir>/runs/<run id>`. */
  readonly outDir?: string;
  /** Default `reports`. */
  readonly reportsDir?: string;
  /** Appended to a new run id. */
  readonly name?: string;
  readonly progress?: ProgressSink;
  readonly signal?: AbortSignal;
  /** Extra env.json fields. */
  readonly environmentExtra?: Record<string, unknown>;
}

export interface CellResult extends CellSpec {
  readonly file: string;
  readonly records: readonly SampleRecord[];
  readonly metrics: CellMetrics;
  readonly resumed: number;
  readonly generated: number;
}

export interface DeltaResult {
  readonly task: TaskName;
  /** `vs-bf16`: kernel − bf16 at one thinking mode; `thinking`: on − off at one kernel. */
  readonly kind: 'vs-bf16' | 'thinking';
  readonly kernel: KernelMode;
  readonly thinking: ThinkingMode | 'n/a';
  readonly delta: PairedDelta;
}

export interface EvalRun {
  readonly runId: string;
  readonly dir: string;
  readonly cells: readonly CellResult[];
  readonly deltas: readonly DeltaResult[];
  readonly rows: readonly ResultRow[];
  /** The summary table (Markdown) with its notes. */
  readonly summary: string;
  readonly resamples: number;
  readonly synthetic: boolean;
  readonly sources: Readonly<Record<string, string>>;
}

export const cellFileName = (cell: CellSpec): string => `${cell.task}-${cell.kernel}-thinking-${cell.thinking}.jsonl`;

async function readExistingEnv(dir: string): Promise<{ runId: string; createdAt: string } | undefined> {
  try {
    const env = JSON.parse(await readFile(join(dir, 'env.json'), 'utf8')) as { runId?: unknown; createdAt?: unknown };
    if (typeof env.runId === 'string' && typeof env.createdAt === 'string') return { runId: env.runId, createdAt: env.createdAt };
  } catch {
    // no env.json: a new run
  }
  return undefined;
}

function modelDirFor(kernel: KernelMode, models: EvalModels): string {
  const dir = kernel === 'bf16' ? models.bf16Dir : models.fp8Dir;
  if (!dir) throw new Error(`kernel ${kernel} needs ${kernel === 'bf16' ? 'a BF16 model (--model)' : 'an FP8 model (--fp8-model)'}`);
  return dir;
}

export async function runEval(options: RunEvalOptions): Promise<EvalRun> {
  const { plan, models, engine, kit } = options;
  const progress = options.progress ?? silentProgress;
  const resamples = plan.resamples ?? 10_000;
  const chunkSize = plan.chunkSize ?? 4 * plan.concurrency;
  for (const kernel of plan.kernels) modelDirFor(kernel, models); // fail before any work

  const capabilities: EngineCapabilities = await engine.capabilities();
  for (const kernel of plan.kernels) {
    if (!capabilities.kernelModes.includes(kernel)) throw new Error(`engine ${engine.name} does not run kernel mode ${kernel} (it runs ${capabilities.kernelModes.join(', ')})`);
  }

  // Problems first: a missing dataset fails before a model is loaded.
  const tasks = new Map<TaskName, KitTask>();
  for (const task of plan.tasks) {
    const loaded = await kit.loadTask(task, { fixtures: plan.fixtures, ...(plan.limit !== undefined ? { limit: plan.limit } : {}) });
    const problems = plan.limit !== undefined ? loaded.problems.slice(0, plan.limit) : loaded.problems;
    if (problems.length === 0) throw new Error(`task ${task}: no problems (${loaded.source})`);
    tasks.set(task, { ...loaded, problems });
  }

  const previous = options.outDir ? await readExistingEnv(options.outDir) : undefined;
  const baseEnv = describeEnvironment();
  const runId = previous?.runId ?? makeRunId(baseEnv.commit, options.name);
  const dir = options.outDir ?? join(options.reportsDir ?? 'reports', 'runs', runId);
  await mkdir(join(dir, 'samples'), { recursive: true });
  // Every cell's JSONL is checked before anything is written or loaded: a resume with changed prompts fails here.
  const maxNew = plan.maxNewTokens !== undefined ? { maxNewTokens: plan.maxNewTokens } : {};
  const cellSpecs: { spec: CellSpec; base: PlanCellOptions; pending: number }[] = [];
  for (const kernel of plan.kernels) {
    for (const [task, loaded] of tasks) {
      for (const thinking of plan.thinking) {
        const spec: CellSpec = { task, kernel, thinking };
        const base: PlanCellOptions = {
          ...spec,
          file: join(dir, 'samples', cellFileName(spec)),
          problems: loaded.problems,
          samples: plan.samples,
          runSeed: plan.seed,
          ...maxNew,
          kit,
        };
        cellSpecs.push({ spec, base, pending: (await planCell(base)).pending.length });
      }
    }
  }
  const sources = Object.fromEntries([...tasks].map(([task, loaded]) => [task, loaded.source]));
  const environment: RunEnvironment = {
    ...describeEnvironment({
      kind: 'eval',
      engine: engine.name,
      device: capabilities.device,
      synthetic: models.synthetic,
      ...(models.synthetic ? { syntheticNote: 'synthetic random-weight checkpoint: accuracies are meaningless (expected ~0)' } : {}),
      models: { bf16: models.bf16Spec ?? models.bf16Dir ?? null, fp8: models.fp8Spec ?? models.fp8Dir ?? null, bf16Dir: models.bf16Dir ?? null, fp8Dir: models.fp8Dir ?? null },
      plan: { ...plan, chunkSize, resamples },
      bootstrap: { resamples, seed: plan.seed, level: 0.95, method: 'percentile, problems resampled with replacement' },
      sampleSeed: 'first 48 bits of sha256("quantbench-sample\\0" + seed + "\\0" + problemId + "\\0" + sampleIndex)',
      datasets: Object.fromEntries([...tasks].map(([task, loaded]) => [task, loaded.sourceDetails ?? loaded.source])),
      ...(previous ? { resumed: true } : {}),
      ...options.environmentExtra,
    }),
    ...(previous ? { createdAt: previous.createdAt } : {}),
  };
  await writeEnvironmentFile(dir, runId, environment);
  if (models.synthetic) progress.note('note: synthetic random-weight model: accuracies are meaningless (expected ~0); this run checks the pipeline only');

  const cells: CellResult[] = [];
  for (const kernel of plan.kernels) {
    options.signal?.throwIfAborted();
    const modelDir = modelDirFor(kernel, models);
    const tokenizer = await loadTokenizer(modelDir);
    const pending = cellSpecs.filter((c) => c.spec.kernel === kernel).reduce((sum, c) => sum + c.pending, 0);
    let model: LoadedModel | undefined;
    if (pending > 0) {
      // The context every request needs: its prompt plus its max new tokens.
      let longest = 0;
      for (const [task, loaded] of tasks) {
        for (const thinking of plan.thinking) {
          for (const problem of loaded.problems) {
            const request = toGenerateRequest(kit.prompt(task, problem, { thinking, ...maxNew }), 0);
            longest = Math.max(longest, tokenizer.encodeChat(request.messages, { thinking: request.thinking }).length + request.maxNewTokens);
          }
        }
      }
      const maxContext = Math.min(longest + 1, capabilities.maxContext);
      const maxBatch = Math.min(plan.concurrency, capabilities.maxBatch);
      progress.note(`loading ${modelDir} on ${engine.name} (${kernel}, max batch ${maxBatch}, context ${maxContext}); ${pending} samples to generate`);
      model = await engine.load({ modelDir, kernel, maxBatch, maxContext });
    }
    try {
      const mine = cellSpecs.filter((c) => c.spec.kernel === kernel);
      const runs = await runCells(
        mine.map(({ spec, base }) => ({ ...spec, ...base, chunkSize, thinkEndId: tokenizer.specialIds.thinkEnd, progress })),
        {
          ...(model ? { model } : {}),
          chunkSize,
          progress,
          label: `${kernel}: ${[...tasks.keys()].join(', ')} × thinking ${plan.thinking.join(', ')}`,
          ...(options.signal ? { signal: options.signal } : {}),
        },
      );
      mine.forEach(({ spec, base }, i) => {
        const run = runs[i]!;
        cells.push({ ...spec, file: base.file, records: run.records, metrics: cellMetrics(run.records, { resamples, seed: plan.seed }), resumed: run.resumed, generated: run.generated });
      });
    } finally {
      await model?.dispose();
    }
  }

  const deltas = computeDeltas(cells, { resamples, seed: plan.seed });
  const ctx: RowContext = { runId, commit: environment.commit, engine: engine.name, device: capabilities.device, seed: plan.seed };
  const rows = [
    ...cells.flatMap((c) => cellRows(ctx, c, c.metrics)),
    ...deltas.flatMap((d) => deltaRows(ctx, d, d.kind === 'vs-bf16' ? 'delta-accuracy-vs-bf16' : 'delta-accuracy-thinking-on-vs-off', d.delta)),
  ];
  const file = await writeResultsFiles(dir, runId, environment.createdAt, rows);
  const summary = summarise(cells, deltas, { resamples, seed: plan.seed, synthetic: models.synthetic, sources, fixtures: plan.fixtures });
  await writeAtomically(join(dir, 'summary.md'), `${summary}\n`);
  return { runId, dir, cells, deltas, rows: file.rows, summary, resamples, synthetic: models.synthetic, sources };
}

/** FP8 kernel − BF16 at each thinking mode, and thinking on − off at each kernel, per task. */
export function computeDeltas(cells: readonly CellResult[], options: { resamples: number; seed: number }): DeltaResult[] {
  const find = (task: TaskName, kernel: KernelMode, thinking: ThinkingMode) => cells.find((c) => c.task === task && c.kernel === kernel && c.thinking === thinking);
  const deltas: DeltaResult[] = [];
  for (const cell of cells) {
    if (cell.kernel === 'bf16') continue;
    const base = find(cell.task, 'bf16', cell.thinking);
    if (base) deltas.push({ task: cell.task, kind: 'vs-bf16', kernel: cell.kernel, thinking: cell.thinking, delta: pairedDelta(cell.records, base.records, options) });
  }
  for (const cell of cells) {
    if (cell.thinking !== 'on') continue;
    const off = find(cell.task, cell.kernel, 'off');
    if (off) deltas.push({ task: cell.task, kind: 'thinking', kernel: cell.kernel, thinking: 'n/a', delta: pairedDelta(cell.records, off.records, options) });
  }
  return deltas;
}

function summarise(
  cells: readonly CellResult[],
  deltas: readonly DeltaResult[],
  info: { resamples: number; seed: number; synthetic: boolean; sources: Record<string, string>; fixtures: boolean },
): string {
  const lines: TableLine[] = [];
  for (const cell of cells) lines.push(...cellTableLines(cell, cell.metrics));
  for (const d of deltas) lines.push(...deltaTableLines(d, d.kind === 'vs-bf16' ? `${d.kernel} − bf16` : 'thinking on − off', d.delta));
  const tests = new Set(deltas.map((d) => d.delta.test));
  const notes = [
    `± is half the 95% percentile-bootstrap interval over problems (B = ${info.resamples}, seed ${info.seed}); the interval itself is in results.json (ciLow, ciHigh).`,
    'accuracy is avg@n: pass@1 averaged over the n samples of each problem, then over problems; pass@k is Chen et al.\'s unbiased estimator.',
    ...(deltas.length > 0
      ? [
          `Δ rows pair the same problems and sample seeds; their p rows: ${[...tests].map((t) => (t === 'mcnemar-exact' ? 'McNemar exact (binomial on discordant problems, n = 1 sample)' : 'sign test on per-problem avg@n (n > 1 samples)')).join('; ')}; the paired-bootstrap p is in brackets; the n column counts problems better/worse.`,
        ]
      : []),
    `datasets: ${Object.entries(info.sources).map(([task, source]) => `${task}: ${source}`).join('; ')}${info.fixtures ? ' (fixture sets, not the benchmarks)' : ''}`,
    ...(info.synthetic ? ['MODEL IS SYNTHETIC (random weights, tiny preset): the accuracies are meaningless (expected ~0); this run only exercises the pipeline.'] : []),
  ];
  return `${formatTable(lines)}\n\n${notes.map((n) => `- ${n}`).join('\n')}`;
}
