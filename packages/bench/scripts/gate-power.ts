/**
 * What the A/B gate can see on this machine, measured by running it many times: how often it catches one kernel
 * made slower by a given factor (the test-only slowdown hook), and how often it fails an unchanged tree (every
 * figure measured as a control). Optionally with a CPU hog (`yes > /dev/null`) running beside it the whole time.
 * Each gate run is `pnpm gate --base HEAD --unchanged control …` in a process of its own, exactly as a user runs it.
 *
 *   pnpm --filter @quantbench/bench gate:power [--runs 20] [--figure KEY] [--factors 1.05,1.1,1.2,1.5]
 *                                              [--false-alarm-runs 20] [--all-kernels-runs 0 --all-kernels-factor 3]
 *                                              [--engines cpu,webgpu] [--budget S] [--hog] [--name NAME]
 *
 * --all-kernels-runs N: N gate runs with every kernel case of every engine slowed by --all-kernels-factor at once
 * (each figure is still sampled and decided on its own), counting per kernel how often it failed.
 * --budget S: each gate run's time budget (pnpm gate --budget), so a campaign of many runs fits in a session.
 *
 * --false-alarm-only TEXT: the unchanged-tree runs measure only the figures whose key contains TEXT (pnpm gate --only).
 *
 * Writes reports/runs/<time>-<commit>-<name>/ as it goes: every gate run's gate.json under runs/ when it ends,
 * results.json rows for each case when it ends, and gate-power.md (the table, the case in progress included) after
 * every gate run, so a campaign stopped early keeps what it measured.
 */
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRunReport, describeEnvironment } from '../src/report.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    runs: { type: 'string', default: '20' },
    figure: { type: 'string', default: 'kernel|cpu|gemv-b1 k_proj 1024x2560 bf16' },
    factors: { type: 'string', default: '1.05,1.1,1.2,1.5' },
    'false-alarm-runs': { type: 'string', default: '20' },
    'all-kernels-runs': { type: 'string', default: '0' },
    'all-kernels-factor': { type: 'string', default: '3' },
    engines: { type: 'string' },
    budget: { type: 'string' },
    'false-alarm-only': { type: 'string' },
    hog: { type: 'boolean', default: false },
    name: { type: 'string', default: 'gate-power' },
  },
});
const runs = Number(values.runs);
const falseAlarmRuns = Number(values['false-alarm-runs']);
const allKernelsRuns = Number(values['all-kernels-runs']);
const allKernelsFactor = Number(values['all-kernels-factor']);
const factors = values.factors.split(',').filter(Boolean).map(Number);
if (!(runs >= 0 && falseAlarmRuns >= 0 && allKernelsRuns >= 0) || [...factors, allKernelsFactor].some((factor) => !(factor >= 1))) {
  throw new Error('--runs, --false-alarm-runs and --all-kernels-runs take counts, --factors and --all-kernels-factor factors of at least 1');
}

interface GateJson {
  readonly passed: boolean;
  readonly elapsedMs: number;
  readonly rounds: number;
  readonly stopped: 'decided' | 'budget' | 'rounds';
  readonly outcomes: readonly { kind: string; verdict: string; info?: { key: string; kernel: string; engine: string } }[];
}

/** One case of the campaign: a slowdown factor, every kernel slowed, or the unchanged tree. */
interface CaseSummary {
  readonly label: string;
  readonly plannedRuns: number;
  runs: number;
  fail: number;
  undecided: number;
  pass: number;
  /** Gate runs that ended on the time budget rather than with every figure decided or the round limit. */
  budgetStops: number;
  readonly seconds: number[];
  /** Per figure, for the cases that count figures rather than runs. */
  readonly countsFigures: boolean;
  readonly notes: string[];
}

const environment = describeEnvironment({
  gatePower: { figure: values.figure, factors, runs, falseAlarmRuns, allKernelsRuns, allKernelsFactor, hog: values.hog, engines: values.engines ?? 'all', budgetSeconds: values.budget ? Number(values.budget) : 'default', falseAlarmOnly: values['false-alarm-only'] ?? null },
});
const report = await createRunReport({ reportsDir: join(REPO_ROOT, 'reports'), name: values.name, environment });
await mkdir(join(report.dir, 'runs'), { recursive: true });
const scratch = await mkdtemp(join(tmpdir(), 'qb-gate-power-'));
const summary: CaseSummary[] = [];
let gateRunCount = 0;
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN;

async function gate(label: string, args: readonly string[]): Promise<GateJson> {
  const out = join(scratch, String(gateRunCount));
  const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
    execFile(process.execPath, ['--conditions=@quantbench/source', '--import', 'tsx', 'apps/cli/src/main.ts', 'gate', '--base', 'HEAD', '--unchanged', 'control', '--out', out, ...args], { cwd: REPO_ROOT, maxBuffer: 2 ** 26 }, (error, stdout, stderr) => {
      // Exit 1 is a failed gate, which is a result here; anything else is not.
      if (error && (error as { code?: number }).code !== 1) reject(new Error(`gate ${label} failed to run:\n${stderr}`));
      else resolve({ stdout });
    });
  });
  const dir = /report: (.+)$/m.exec(stdout)?.[1];
  if (!dir) throw new Error(`gate ${label}: no report in its output:\n${stdout}`);
  const json = JSON.parse(await readFile(join(dir, 'gate.json'), 'utf8')) as GateJson;
  gateRunCount++;
  await cp(join(dir, 'gate.json'), join(report.dir, 'runs', `${String(gateRunCount).padStart(3, '0')}.gate.json`));
  process.stderr.write(`gate-power: ${label}: ${json.passed ? 'PASS' : 'FAIL'} in ${(json.elapsedMs / 1000).toFixed(0)} s, ${json.rounds} rounds (${json.stopped})\n`);
  return json;
}

function startCase(label: string, plannedRuns: number, countsFigures: boolean): CaseSummary {
  const line: CaseSummary = { label, plannedRuns, runs: 0, fail: 0, undecided: 0, pass: 0, budgetStops: 0, seconds: [], countsFigures, notes: [] };
  summary.push(line);
  return line;
}

function recordRun(line: CaseSummary, json: GateJson): void {
  line.runs++;
  line.seconds.push(json.elapsedMs / 1000);
  if (json.stopped === 'budget') line.budgetStops++;
}

const [rowEngine = 'cpu', rowFigure = ''] = values.figure.split('|').slice(1);
const rowKernel = (['bf16', 'w8a16', 'w8a8'] as const).find((mode) => rowFigure.endsWith(mode)) ?? 'bf16';

async function finishCase(line: CaseSummary): Promise<void> {
  const unit = line.countsFigures ? 'figures' : 'runs';
  const base = { runId: report.runId, commit: environment.commit, engine: line.countsFigures ? 'all' : rowEngine, device: environment.machine.cpu, format: rowKernel === 'bf16' ? 'bf16' : 'fp8', kernel: rowKernel, thinking: 'n/a', task: `gate-power/${line.label}${values.hog ? ' with a CPU hog' : ''}`, n: line.runs, ciLow: null, ciHigh: null, seed: null } as const;
  const failMetric = line.label.startsWith('unchanged') ? 'failed_figures' : line.countsFigures ? 'caught_figures' : 'caught_runs';
  await report.add([
    { ...base, metric: failMetric, value: line.fail, unit },
    { ...base, metric: `undecided_${unit}`, value: line.undecided, unit },
    { ...base, metric: 'budget_stopped_runs', value: line.budgetStops, unit: 'runs' },
    { ...base, metric: 'median_gate_seconds', value: median(line.seconds), unit: 's' },
  ]);
}

async function writeTable(): Promise<string> {
  const table = [
    `gate power on ${environment.machine.cpu} (${environment.machine.cores} cores)${values.hog ? ', with `yes > /dev/null` running beside it' : ''}; commit ${environment.commit}${values.budget ? `; each gate run's budget ${values.budget} s` : ''}`,
    '',
    '| case | gate runs | failed | undecided | passed | stopped on the budget | median gate time |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...summary.map((line) => {
      const unit = line.countsFigures ? ' figures' : '';
      const runsText = line.runs < line.plannedRuns ? `${line.runs} of ${line.plannedRuns}` : String(line.runs);
      return `| ${line.label.replaceAll('|', '\\|')} | ${runsText} | ${line.fail}${unit} | ${line.undecided}${unit} | ${line.pass}${unit} | ${line.budgetStops} | ${median(line.seconds).toFixed(0)} s |`;
    }),
    '',
    ...summary.flatMap((line) => (line.notes.length ? [`${line.label}:`, ...line.notes.map((note) => `  ${note}`)] : [])),
  ].join('\n');
  await writeFile(join(report.dir, 'gate-power.md'), `${table}\n`);
  return table;
}

const hog = values.hog ? spawn('sh', ['-c', 'exec yes > /dev/null'], { stdio: 'ignore' }) : undefined;
const gateArgs = [...(values.engines ? ['--engines', values.engines] : []), ...(values.budget ? ['--budget', values.budget] : [])];
try {
  for (const factor of factors) {
    const line = startCase(`slowdown ×${factor}`, runs, false);
    for (let i = 0; i < runs; i++) {
      const json = await gate(`${values.figure} ×${factor} #${i + 1}`, [...gateArgs, '--only', values.figure, '--test-slowdown', `${values.figure.split('|').at(-1)}=${factor}`]);
      const verdict = json.outcomes.find((outcome) => outcome.kind === 'speed' && outcome.info?.key === values.figure)?.verdict ?? 'absent';
      recordRun(line, json);
      if (verdict === 'fail') line.fail++;
      else if (verdict === 'undecided') line.undecided++;
      else if (verdict === 'pass' || verdict === 'faster') line.pass++;
      else line.notes.push(`#${i + 1}: the figure was ${verdict}`);
      await writeTable();
    }
    await finishCase(line);
  }
  if (allKernelsRuns > 0) {
    const slowed = ['gemv-b1', 'gemm-b64', 'attention-decode', 'rms-norm'].map((kernel) => `${kernel}=${allKernelsFactor}`).join(',');
    const line = startCase(`every kernel ×${allKernelsFactor} (kernel figures)`, allKernelsRuns, true);
    for (let i = 0; i < allKernelsRuns; i++) {
      const json = await gate(`every kernel ×${allKernelsFactor} #${i + 1}`, [...gateArgs, '--only', 'kernel|', '--test-slowdown', slowed]);
      const kernels = json.outcomes.filter((outcome) => outcome.kind === 'speed' && !/\|copy /.test(outcome.info!.key));
      recordRun(line, json);
      line.fail += kernels.filter((outcome) => outcome.verdict === 'fail').length;
      line.undecided += kernels.filter((outcome) => outcome.verdict === 'undecided').length;
      line.pass += kernels.filter((outcome) => outcome.verdict !== 'fail' && outcome.verdict !== 'undecided').length;
      line.notes.push(...kernels.filter((outcome) => outcome.verdict !== 'fail').map((outcome) => `#${i + 1} ${outcome.info!.key}: not failed (${outcome.verdict})`));
      await writeTable();
    }
    await finishCase(line);
  }
  if (falseAlarmRuns > 0) {
    const only = values['false-alarm-only'];
    const line = startCase(`unchanged tree (${only ? `figures matching '${only}'` : 'every figure'} as controls)`, falseAlarmRuns, true);
    for (let i = 0; i < falseAlarmRuns; i++) {
      const json = await gate(`unchanged tree #${i + 1}`, [...gateArgs, ...(only ? ['--only', only] : [])]);
      const speed = json.outcomes.filter((outcome) => outcome.kind === 'speed');
      recordRun(line, json);
      const failed = speed.filter((outcome) => outcome.verdict === 'fail');
      line.fail += failed.length;
      line.undecided += speed.filter((outcome) => outcome.verdict === 'undecided').length;
      line.pass += speed.length - failed.length - speed.filter((outcome) => outcome.verdict === 'undecided').length;
      line.notes.push(...failed.map((outcome) => `#${i + 1} ${outcome.info!.key}: failed on the unchanged tree`));
      if (!json.passed) line.notes.push(`#${i + 1}: the gate run failed`);
      await writeTable();
    }
    await finishCase(line);
  }
} finally {
  hog?.kill('SIGKILL');
}
await rm(scratch, { recursive: true, force: true });
console.log(`${await writeTable()}\nreport: ${report.dir}`);
