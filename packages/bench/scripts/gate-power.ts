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
 * Writes reports/runs/<time>-<commit>-<name>/ (results.json rows per factor and for the unchanged tree, gate-power.md,
 * and every gate run's gate.json under runs/).
 */
import { execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ResultRow } from '@quantbench/core';
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
  readonly outcomes: readonly { kind: string; verdict: string; info?: { key: string; kernel: string; engine: string } }[];
}

const scratch = await mkdtemp(join(tmpdir(), 'qb-gate-power-'));
const gateRuns: { label: string; json: GateJson; dir: string }[] = [];

async function gate(label: string, args: readonly string[]): Promise<GateJson> {
  const out = join(scratch, String(gateRuns.length));
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
  gateRuns.push({ label, json, dir });
  process.stderr.write(`gate-power: ${label}: ${json.passed ? 'PASS' : 'FAIL'} in ${(json.elapsedMs / 1000).toFixed(0)} s, ${json.rounds} rounds\n`);
  return json;
}

const hog = values.hog ? spawn('sh', ['-c', 'exec yes > /dev/null'], { stdio: 'ignore' }) : undefined;
const gateArgs = [...(values.engines ? ['--engines', values.engines] : []), ...(values.budget ? ['--budget', values.budget] : [])];
const summary: { label: string; runs: number; fail: number; undecided: number; pass: number; medianSeconds: number; failedFigures?: string[]; misses?: string[] }[] = [];
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN;
try {
  for (const factor of factors) {
    const verdicts: string[] = [];
    const seconds: number[] = [];
    for (let i = 0; i < runs; i++) {
      const json = await gate(`${values.figure} ×${factor} #${i + 1}`, [...gateArgs, '--only', values.figure, '--test-slowdown', `${values.figure.split('|').at(-1)}=${factor}`]);
      verdicts.push(json.outcomes.find((outcome) => outcome.kind === 'speed' && outcome.info?.key === values.figure)?.verdict ?? 'absent');
      seconds.push(json.elapsedMs / 1000);
    }
    const count = (verdict: string): number => verdicts.filter((v) => v === verdict).length;
    summary.push({ label: `slowdown ×${factor}`, runs, fail: count('fail'), undecided: count('undecided'), pass: count('pass') + count('faster'), medianSeconds: median(seconds) });
  }
  if (allKernelsRuns > 0) {
    const slowed = ['gemv-b1', 'gemm-b64', 'attention-decode', 'rms-norm'].map((kernel) => `${kernel}=${allKernelsFactor}`).join(',');
    const misses: string[] = [];
    let figures = 0;
    let caught = 0;
    let undecided = 0;
    const seconds: number[] = [];
    for (let i = 0; i < allKernelsRuns; i++) {
      const json = await gate(`every kernel ×${allKernelsFactor} #${i + 1}`, [...gateArgs, '--only', 'kernel|', '--test-slowdown', slowed]);
      const kernels = json.outcomes.filter((outcome) => outcome.kind === 'speed' && !/\|copy /.test(outcome.info!.key));
      figures += kernels.length;
      caught += kernels.filter((outcome) => outcome.verdict === 'fail').length;
      undecided += kernels.filter((outcome) => outcome.verdict === 'undecided').length;
      misses.push(...kernels.filter((outcome) => outcome.verdict !== 'fail').map((outcome) => `#${i + 1} ${outcome.info!.key}: ${outcome.verdict}`));
      seconds.push(json.elapsedMs / 1000);
    }
    summary.push({ label: `every kernel ×${allKernelsFactor} (kernel figures)`, runs: allKernelsRuns, fail: caught, undecided, pass: figures - caught - undecided, medianSeconds: median(seconds), misses });
  }
  if (falseAlarmRuns > 0) {
    const failed: string[] = [];
    let failedRuns = 0;
    let undecided = 0;
    let figures = 0;
    const seconds: number[] = [];
    for (let i = 0; i < falseAlarmRuns; i++) {
      const json = await gate(`unchanged tree #${i + 1}`, gateArgs);
      const speed = json.outcomes.filter((outcome) => outcome.kind === 'speed');
      figures += speed.length;
      undecided += speed.filter((outcome) => outcome.verdict === 'undecided').length;
      const bad = speed.filter((outcome) => outcome.verdict === 'fail').map((outcome) => `#${i + 1} ${outcome.info!.key}`);
      failed.push(...bad);
      if (!json.passed) failedRuns++;
      seconds.push(json.elapsedMs / 1000);
    }
    summary.push({ label: 'unchanged tree (every figure a control)', runs: falseAlarmRuns, fail: failedRuns, undecided, pass: figures - undecided - failed.length, medianSeconds: median(seconds), failedFigures: failed });
  }
} finally {
  hog?.kill('SIGKILL');
}

const environment = describeEnvironment({ gatePower: { figure: values.figure, factors, runs, falseAlarmRuns, hog: values.hog, engines: values.engines ?? 'all', budgetSeconds: values.budget ? Number(values.budget) : 'default' } });
const report = await createRunReport({ reportsDir: join(REPO_ROOT, 'reports'), name: values.name, environment });
const [engine = 'cpu', name = ''] = values.figure.split('|').slice(1);
const kernel = (['bf16', 'w8a16', 'w8a8'] as const).find((mode) => name.endsWith(mode)) ?? 'bf16';
const rows: ResultRow[] = summary.flatMap((line) => {
  const base = { runId: report.runId, commit: environment.commit, engine: line.failedFigures || line.misses ? 'all' : engine, device: environment.machine.cpu, format: kernel === 'bf16' ? 'bf16' : 'fp8', kernel, thinking: 'n/a', task: `gate-power/${line.label}${values.hog ? ' with a CPU hog' : ''}`, n: line.runs, ciLow: null, ciHigh: null, seed: null } as const;
  return [
    { ...base, metric: line.failedFigures ? 'failed_gate_runs' : line.misses ? 'caught_figures' : 'caught_runs', value: line.fail, unit: line.misses ? 'figures' : 'runs' },
    { ...base, metric: line.failedFigures || line.misses ? 'undecided_figures' : 'undecided_runs', value: line.undecided, unit: line.failedFigures || line.misses ? 'figures' : 'runs' },
    { ...base, metric: 'median_gate_seconds', value: line.medianSeconds, unit: 's' },
  ];
});
await report.add(rows);
const table = [
  `gate power on ${environment.machine.cpu} (${environment.machine.cores} cores)${values.hog ? ', with `yes > /dev/null` running beside it' : ''}; commit ${environment.commit}`,
  '',
  '| case | gate runs | failed | undecided | passed | median gate time |',
  '|---|---:|---:|---:|---:|---:|',
  ...summary.map((line) => {
    const unit = line.failedFigures || line.misses ? ' figures' : '';
    return `| ${line.label} | ${line.runs} | ${line.fail}${line.misses ? ' figures' : ''} | ${line.undecided}${unit} | ${line.pass}${unit} | ${line.medianSeconds.toFixed(0)} s |`;
  }),
  '',
  ...summary.flatMap((line) => (line.failedFigures?.length ? ['figures that failed on the unchanged tree:', ...line.failedFigures.map((key) => `  ${key}`)] : [])),
  ...summary.flatMap((line) => (line.misses?.length ? ['slowed kernels not failed:', ...line.misses.map((key) => `  ${key}`)] : [])),
].join('\n');
await writeFile(join(report.dir, 'gate-power.md'), `${table}\n`);
for (const [i, run] of gateRuns.entries()) await cp(join(run.dir, 'gate.json'), join(report.dir, 'runs', `${String(i + 1).padStart(3, '0')}.gate.json`), { recursive: true });
await rm(scratch, { recursive: true, force: true });
console.log(`${table}\nreport: ${report.dir}`);
