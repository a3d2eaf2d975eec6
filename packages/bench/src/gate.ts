/**
 * The regression gate: compares a bench run with the committed baseline (reports/baseline/) and fails when a
 * figure got slower beyond its noise or an accuracy statistic got worse beyond a stated tolerance.
 *
 * Machines are noisy, and CI machines differ from the one the baseline was made on, so no absolute time is
 * compared. Every gated speed figure is a ratio measured within one run:
 * - kernel: a kernel's GB/s as a fraction of the bandwidth-ceiling probe (a buffer copy) run beside it (on the CPU
 *   engine, the median over samples each paired with a probe timed right after it);
 * - speed: an engine's tokens/s times the CPU calibration probe's time in the same process (tokens per probe);
 * - fp8-vs-bf16: an FP8 mode's tokens/s over BF16's on the same engine in the same run.
 * Each figure is a median of repeats and carries its relative noise s: the median's standard error, taken from its
 * 95% order-statistic interval (half-width / 1.96, relative), combined in quadrature over the parts of the ratio.
 * The baseline also records d, the spread between the runs it was made from ((max − min) / 2, relative). A figure
 * fails when it is worse than the baseline by more than
 *     tolerance = max(floor[group], k · √(s_baseline² + s_run²) + d)
 * A change beyond the tolerance fails (or counts as better) however wide the tolerance; a change within a tolerance
 * that exceeds `cap` (50%: it could not see a 2× regression) is reported as too noisy to gate, not as a pass.
 * Accuracy statistics are deterministic on the fixed prompts, so they get fixed tolerances: mean KL may not grow
 * beyond baseline · (1 + klRelative) + klAbsolute; top-1 agreement may not drop by more than
 * max(top1Absolute, 1 / positions) (one flipped near-tie is not a regression, two are).
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseResultsFile, percentile, type ResultRow } from '@quantbench/core';
import { z } from 'zod';

export type FigureGroup = 'kernel' | 'speed' | 'fp8-vs-bf16' | 'accuracy';

export interface GateFigure {
  /** `group|engine|kernel|task|metric`: what is compared with what. */
  readonly key: string;
  readonly group: FigureGroup;
  readonly engine: string;
  readonly kernel: string;
  readonly task: string;
  readonly metric: string;
  readonly value: number;
  /** Relative noise within the run. */
  readonly relSpread: number;
  readonly better: 'higher' | 'lower';
  readonly unit: string;
  /** Compared positions, for accuracy figures. */
  readonly positions?: number;
}

export interface GateRule {
  readonly k: number;
  readonly floor: Readonly<Record<Exclude<FigureGroup, 'accuracy'>, number>>;
  readonly cap: number;
  readonly klRelative: number;
  readonly klAbsolute: number;
  readonly top1Absolute: number;
}

export const DEFAULT_GATE_RULE: GateRule = {
  k: 3,
  floor: { kernel: 0.4, speed: 0.2, 'fp8-vs-bf16': 0.15 },
  cap: 0.5,
  klRelative: 0.1,
  klAbsolute: 1e-6,
  top1Absolute: 0.005,
};

export function describeGateRule(rule: GateRule = DEFAULT_GATE_RULE): string {
  const floors = Object.entries(rule.floor)
    .map(([group, floor]) => `${group} ${(100 * floor).toFixed(0)}%`)
    .join(', ');
  return [
    `speed figures fail when worse than the baseline by more than max(floor, ${rule.k} × √(s_baseline² + s_run²) + d); a change within a tolerance above ${(100 * rule.cap).toFixed(0)}% is reported as too noisy to gate`,
    `  floors: ${floors}; s = relative standard error of a median of repeats (95% order-statistic interval / 1.96),`,
    `  d = spread between the baseline's runs; every figure is a ratio measured within one run`,
    `accuracy fails when mean KL > baseline × ${1 + rule.klRelative} + ${rule.klAbsolute} nats, or top-1 agreement drops by more than max(${rule.top1Absolute}, 1/positions)`,
  ].join('\n');
}

/** A figure's relative standard error: its 95% interval's half-width / 1.96, over the value. */
const relHalfWidth = (row: ResultRow | undefined): number =>
  row && row.ciLow !== null && row.ciHigh !== null && row.value > 0 ? Math.abs(row.ciHigh - row.ciLow) / (2 * 1.96 * row.value) : 0;
const quadrature = (...parts: number[]): number => Math.sqrt(parts.reduce((sum, part) => sum + part * part, 0));

/** The gated figures of a run, all ratios measured within the run. */
export function gateFigures(rows: readonly ResultRow[]): GateFigure[] {
  const figures: GateFigure[] = [];
  const find = (predicate: (row: ResultRow) => boolean): ResultRow | undefined => rows.find(predicate);
  const figure = (group: FigureGroup, row: ResultRow, value: number, relSpread: number, better: 'higher' | 'lower', unit: string, metric = row.metric): GateFigure => ({
    key: [group, row.engine, row.kernel, row.task, metric].join('|'),
    group,
    engine: row.engine,
    kernel: row.kernel,
    task: row.task,
    metric,
    value,
    relSpread,
    better,
    unit,
    ...(group === 'accuracy' ? { positions: row.n } : {}),
  });

  // Kernels against the ceiling probe run beside them: paired samples carry their own interval; otherwise the noise
  // of the kernel's median and the probe's combine.
  for (const row of rows) {
    if (row.metric !== 'fraction_of_ceiling') continue;
    if (row.ciLow !== null && row.ciHigh !== null) {
      figures.push(figure('kernel', row, row.value, relHalfWidth(row), 'higher', 'of ceiling'));
      continue;
    }
    const time = find((r) => r.engine === row.engine && r.task === row.task && r.kernel === row.kernel && r.metric === 'median_ms');
    const reference = find((r) => r.engine === row.engine && r.metric === 'ceiling_gb_per_s');
    const referenceTime = reference && find((r) => r.engine === reference.engine && r.task === reference.task && r.metric === 'median_ms');
    figures.push(figure('kernel', row, row.value, quadrature(relHalfWidth(time), relHalfWidth(referenceTime)), 'higher', 'of ceiling'));
  }

  // Engine speed in units of the CPU calibration probe, and FP8 over BF16.
  const calibration = find((r) => r.task === 'calibration/cpu-probe' && r.metric === 'median_ms');
  const speedRows = rows.filter((r) => r.metric.endsWith('_tokens_per_s'));
  for (const row of speedRows) {
    if (calibration) {
      figures.push(figure('speed', row, (row.value * calibration.value) / 1000, quadrature(relHalfWidth(row), relHalfWidth(calibration)), 'higher', 'tokens/probe', `${row.metric}_per_probe`));
    }
    if (row.kernel !== 'bf16') {
      const bf16 = speedRows.find((r) => r.engine === row.engine && r.kernel === 'bf16' && r.task === row.task && r.metric === row.metric);
      if (bf16) figures.push(figure('fp8-vs-bf16', row, row.value / bf16.value, quadrature(relHalfWidth(row), relHalfWidth(bf16)), 'higher', '× bf16', `${row.metric}_vs_bf16`));
    }
  }

  // Accuracy: FP8 against BF16 on each engine, each engine against the CPU engine.
  for (const row of rows) {
    if (!(row.task.startsWith('accuracy-vs-bf16/') || row.task.startsWith('parity-vs-cpu/'))) continue;
    if (row.metric === 'kl_divergence_mean') figures.push(figure('accuracy', row, row.value, 0, 'lower', 'nats'));
    if (row.metric === 'top1_agreement') figures.push(figure('accuracy', row, row.value, 0, 'higher', 'ratio'));
  }
  return figures;
}

const KernelSourceSchema = z.object({ name: z.string(), file: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).strict();

const BaselineFigureSchema = z
  .object({
    key: z.string(),
    group: z.enum(['kernel', 'speed', 'fp8-vs-bf16', 'accuracy']),
    engine: z.string(),
    kernel: z.string(),
    task: z.string(),
    metric: z.string(),
    value: z.number(),
    relSpread: z.number().nonnegative(),
    better: z.enum(['higher', 'lower']),
    unit: z.string(),
    positions: z.number().int().optional(),
    /** Relative spread between the runs the baseline was made from: (max − min) / (2 · median); 0 for one run. */
    runSpread: z.number().nonnegative(),
    runs: z.number().int().positive(),
  })
  .strict();
export type BaselineFigure = z.infer<typeof BaselineFigureSchema>;

export const BASELINE_SCHEMA_VERSION = 1;
export const BaselineSchema = z
  .object({
    schemaVersion: z.literal(BASELINE_SCHEMA_VERSION),
    createdAt: z.string().datetime(),
    runs: z.array(z.object({ runId: z.string(), commit: z.string(), cpu: z.string(), cores: z.number(), devices: z.record(z.string(), z.string()) }).strict()).min(1),
    rule: z.string(),
    figures: z.array(BaselineFigureSchema),
    kernelSources: z.record(z.string(), z.array(KernelSourceSchema)),
  })
  .strict();
export type Baseline = z.infer<typeof BaselineSchema>;

export interface LoadedRun {
  readonly dir: string;
  readonly runId: string;
  readonly rows: readonly ResultRow[];
  readonly env: { commit?: string; machine?: { cpu?: string; cores?: number }; extra?: { kernelSources?: Record<string, { name: string; file: string; sha256: string }[]>; devices?: Record<string, string> } };
}

export async function loadRun(dir: string): Promise<LoadedRun> {
  const file = join(dir, 'results.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: cannot read the run's results (${error instanceof Error ? error.message : String(error)})`);
  }
  const results = parseResultsFile(json, file);
  let env: LoadedRun['env'] = {};
  try {
    env = JSON.parse(await readFile(join(dir, 'env.json'), 'utf8'));
  } catch {
    // env.json is optional for the comparison
  }
  return { dir, runId: results.runId, rows: results.rows, env };
}

/** The newest `reports/runs/*-<name>` directory (run ids sort by time). */
export async function latestRun(reportsDir: string, name = 'bench'): Promise<string> {
  const runsDir = join(reportsDir, 'runs');
  let entries: string[] = [];
  try {
    entries = await readdir(runsDir);
  } catch {
    // no runs yet
  }
  const runs = entries.filter((entry) => entry.endsWith(`-${name}`)).sort();
  const last = runs.at(-1);
  if (!last) throw new Error(`no bench run under ${runsDir}: run 'pnpm bench' first, or pass --run DIR`);
  return join(runsDir, last);
}

export function makeBaseline(runs: readonly LoadedRun[], rule: GateRule = DEFAULT_GATE_RULE): Baseline {
  if (runs.length === 0) throw new Error('a baseline needs at least one run');
  const perRun = runs.map((run) => new Map(gateFigures(run.rows).map((figure) => [figure.key, figure])));
  const figures: BaselineFigure[] = [];
  for (const [key, first] of perRun[0]!) {
    const all = perRun.map((figuresOfRun) => figuresOfRun.get(key)).filter((figure): figure is GateFigure => figure !== undefined);
    const values = all.map((figure) => figure.value).sort((a, b) => a - b);
    const spreads = all.map((figure) => figure.relSpread).sort((a, b) => a - b);
    const value = percentile(values, 0.5);
    figures.push({
      ...first,
      value,
      relSpread: percentile(spreads, 0.5),
      runSpread: values.length > 1 && value !== 0 ? (values.at(-1)! - values[0]!) / (2 * Math.abs(value)) : 0,
      runs: all.length,
    });
  }
  const kernelSources: Record<string, z.infer<typeof KernelSourceSchema>[]> = {};
  for (const run of runs) Object.assign(kernelSources, run.env.extra?.kernelSources ?? {});
  return {
    schemaVersion: BASELINE_SCHEMA_VERSION,
    createdAt: new Date().toISOString(),
    runs: runs.map((run) => ({
      runId: run.runId,
      commit: run.env.commit ?? 'unknown',
      cpu: run.env.machine?.cpu ?? 'unknown',
      cores: run.env.machine?.cores ?? 0,
      devices: run.env.extra?.devices ?? {},
    })),
    rule: describeGateRule(rule),
    figures,
    kernelSources,
  };
}

export async function readBaseline(dir: string): Promise<Baseline> {
  const file = join(dir, 'baseline.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    throw new Error(`no baseline at ${file}: make one with 'pnpm gate --update-baseline' (after 'pnpm bench')`);
  }
  const parsed = BaselineSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`${file}: not a quantbench baseline (v${BASELINE_SCHEMA_VERSION}): ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** Rewrites `dir` with baseline.json, the runs it was made from (results + env) and a README. */
export async function writeBaseline(dir: string, baseline: Baseline, runs: readonly LoadedRun[]): Promise<void> {
  // Read the runs first: one of them may live inside the old baseline directory.
  const copies: { runId: string; file: string; text: string }[] = [];
  for (const run of runs) {
    for (const file of ['results.json', 'results.csv', 'env.json']) {
      const text = await readFile(join(run.dir, file), 'utf8').catch(() => undefined);
      if (text !== undefined) copies.push({ runId: run.runId, file, text });
    }
  }
  const validated = BaselineSchema.parse(baseline);
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'runs'), { recursive: true });
  await writeFile(join(dir, 'baseline.json'), `${JSON.stringify(validated, null, 2)}\n`);
  for (const copy of copies) {
    await mkdir(join(dir, 'runs', copy.runId), { recursive: true });
    await writeFile(join(dir, 'runs', copy.runId, copy.file), copy.text);
  }
  const readme = [
    '# Regression-gate baseline',
    '',
    'Written by `pnpm gate --update-baseline` (do not edit by hand). `baseline.json` holds each gated figure (a ratio',
    'measured within one run), its within-run noise and the spread between the runs below, and the sha256 of every',
    "kernel source file of every engine that ran. `runs/` keeps those runs' results and environments.",
    '',
    'The rule:',
    '',
    ...baseline.rule.split('\n').map((line) => `    ${line}`),
    '',
    `Made from: ${baseline.runs.map((run) => `${run.runId} (${run.cpu}, ${run.cores} cores)`).join('; ')}.`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'README.md'), readme);
}

export type CheckStatus = 'pass' | 'fail' | 'better' | 'noisy' | 'missing' | 'new';

export interface GateCheck {
  readonly figure: GateFigure | BaselineFigure;
  readonly baseline?: number;
  readonly run?: number;
  /** Relative change, signed so that negative is worse. */
  readonly change?: number;
  /** Allowed relative worsening (accuracy: allowed absolute worsening, see `toleranceText`). */
  readonly toleranceText: string;
  readonly status: CheckStatus;
}

export interface KernelChange {
  readonly engine: string;
  readonly name: string;
  readonly file: string;
  readonly change: 'changed' | 'added' | 'removed';
  readonly baseline?: string;
  readonly run?: string;
}

export interface GateReport {
  readonly checks: readonly GateCheck[];
  readonly kernelChanges: readonly KernelChange[];
  readonly notes: readonly string[];
  readonly passed: boolean;
}

const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`;

export function compareWithBaseline(run: LoadedRun, baseline: Baseline, rule: GateRule = DEFAULT_GATE_RULE): GateReport {
  const current = new Map(gateFigures(run.rows).map((figure) => [figure.key, figure]));
  const checks: GateCheck[] = [];
  for (const base of baseline.figures) {
    const now = current.get(base.key);
    if (!now) {
      checks.push({ figure: base, baseline: base.value, toleranceText: '', status: 'missing' });
      continue;
    }
    current.delete(base.key);
    if (base.group === 'accuracy') {
      if (base.better === 'lower') {
        const allowed = base.value * (1 + rule.klRelative) + rule.klAbsolute;
        const change = base.value > 0 ? -(now.value - base.value) / base.value : now.value > base.value ? -Infinity : 0;
        checks.push({ figure: now, baseline: base.value, run: now.value, change, toleranceText: `≤ ${allowed.toExponential(2)}`, status: now.value > allowed ? 'fail' : now.value < base.value * (1 - rule.klRelative) - rule.klAbsolute ? 'better' : 'pass' });
      } else {
        const allowedDrop = Math.max(rule.top1Absolute, 1 / Math.max(1, now.positions ?? base.positions ?? 1));
        const change = now.value - base.value;
        checks.push({ figure: now, baseline: base.value, run: now.value, change, toleranceText: `drop ≤ ${(100 * allowedDrop).toFixed(1)} pts`, status: change < -allowedDrop - 1e-12 ? 'fail' : change > allowedDrop ? 'better' : 'pass' });
      }
      continue;
    }
    const tolerance = Math.max(rule.floor[base.group], rule.k * quadrature(base.relSpread, now.relSpread) + base.runSpread);
    const ratio = base.better === 'higher' ? now.value / base.value : base.value / now.value;
    const change = ratio - 1;
    // Beyond the noise is a finding at any noise level; within noise this large even a 2× regression could hide,
    // so say so rather than pass.
    const status: CheckStatus = change < -tolerance ? 'fail' : change > tolerance ? 'better' : tolerance > rule.cap ? 'noisy' : 'pass';
    checks.push({ figure: now, baseline: base.value, run: now.value, change, toleranceText: `-${(100 * tolerance).toFixed(0)}%`, status });
  }
  for (const figure of current.values()) checks.push({ figure, run: figure.value, toleranceText: '', status: 'new' });

  const kernelChanges: KernelChange[] = [];
  const runSources = run.env.extra?.kernelSources ?? {};
  for (const engine of new Set([...Object.keys(baseline.kernelSources), ...Object.keys(runSources)])) {
    const before = new Map((baseline.kernelSources[engine] ?? []).map((source) => [source.file, source]));
    const after = new Map((runSources[engine] ?? []).map((source) => [source.file, source]));
    if (!runSources[engine] || !baseline.kernelSources[engine]) continue; // engine not run on one side
    for (const [file, source] of after) {
      const old = before.get(file);
      if (!old) kernelChanges.push({ engine, name: source.name, file, change: 'added', run: source.sha256 });
      else if (old.sha256 !== source.sha256) kernelChanges.push({ engine, name: source.name, file, change: 'changed', baseline: old.sha256, run: source.sha256 });
    }
    for (const [file, source] of before) if (!after.has(file)) kernelChanges.push({ engine, name: source.name, file, change: 'removed', baseline: source.sha256 });
  }

  const notes: string[] = [];
  const cpu = run.env.machine?.cpu;
  if (cpu && !baseline.runs.some((b) => b.cpu === cpu)) notes.push(`this run's CPU (${cpu}) differs from the baseline's (${baseline.runs[0]!.cpu}): only within-run ratios are compared, but expect more noise`);
  const missingEngines = [...new Set(checks.filter((c) => c.status === 'missing').map((c) => c.figure.engine))].filter((engine) => !checks.some((c) => c.figure.engine === engine && c.status !== 'missing'));
  if (missingEngines.length > 0) notes.push(`not in this run: ${missingEngines.join(', ')} (unavailable or not selected) — their figures are not compared`);
  const compared = checks.filter((c) => c.status === 'pass' || c.status === 'fail' || c.status === 'better').length;
  if (compared === 0) notes.push('no figure of this run matches the baseline: nothing was compared');
  return { checks, kernelChanges, notes, passed: compared > 0 && !checks.some((c) => c.status === 'fail') };
}

function formatValue(value: number | undefined, unit: string): string {
  if (value === undefined) return '—';
  if (unit === 'nats') return value.toExponential(3);
  if (unit === 'ratio' || unit === 'of ceiling') return value.toFixed(4);
  return value.toPrecision(4);
}

/** The readable table: every failure and improvement, the counts, the changed kernels and the rule. */
export function formatGateReport(report: GateReport, options: { verbose?: boolean } = {}): string {
  const shown = report.checks.filter((check) => options.verbose || check.status === 'fail' || check.status === 'better' || check.status === 'noisy');
  const header = ['status', 'group', 'engine', 'mode', 'figure', 'baseline', 'run', 'change', 'tolerance'];
  const body = shown.map((check) => [
    check.status === 'fail' ? 'FAIL' : check.status,
    check.figure.group,
    check.figure.engine,
    check.figure.kernel,
    `${check.figure.task} ${check.figure.metric}`,
    formatValue(check.baseline, check.figure.unit),
    formatValue(check.run, check.figure.unit),
    check.change === undefined ? '' : check.figure.group === 'accuracy' && check.figure.better === 'higher' ? `${check.change >= 0 ? '+' : ''}${(100 * check.change).toFixed(1)} pts` : pct(check.change),
    check.toleranceText,
  ]);
  const lines: string[] = [];
  if (body.length > 0) {
    const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
    const line = (cells: string[]): string => `| ${cells.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`;
    lines.push(line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line));
  }
  const count = (status: CheckStatus): number => report.checks.filter((check) => check.status === status).length;
  lines.push(
    '',
    `${count('pass') + count('better') + count('fail') + count('noisy')} figures compared: ${count('fail')} worse beyond tolerance, ${count('better')} better beyond it, ${count('pass')} within it, ${count('noisy')} too noisy to gate (within a tolerance above ${(100 * DEFAULT_GATE_RULE.cap).toFixed(0)}%: re-make the baseline on a quieter machine); ${count('missing')} in the baseline only, ${count('new')} new`,
  );
  if (report.kernelChanges.length > 0) {
    lines.push('', 'kernel sources changed since the baseline:');
    for (const change of report.kernelChanges) {
      lines.push(`  ${change.engine.padEnd(7)} ${change.change.padEnd(8)} ${change.file}  ${change.baseline?.slice(0, 12) ?? '—'} -> ${change.run?.slice(0, 12) ?? '—'}`);
    }
  } else {
    lines.push('', 'kernel sources: unchanged since the baseline');
  }
  for (const note of report.notes) lines.push(`note: ${note}`);
  lines.push('', report.passed ? 'gate: PASS' : 'gate: FAIL');
  return lines.join('\n');
}
