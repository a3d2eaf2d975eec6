import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultRow } from '@quantbench/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareWithBaseline,
  DEFAULT_GATE_RULE,
  formatGateReport,
  gateFigures,
  type LoadedRun,
  makeBaseline,
  readBaseline,
  summarize,
  writeBaseline,
} from '../src/index.js';

/** A seeded normal generator (Box–Muller over a xorshift). */
function normals(seed: number): () => number {
  let state = seed >>> 0 || 1;
  const uniform = (): number => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return (state + 0.5) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

interface SimulatedRun {
  /** Multiplies one kernel's time (a slowed kernel: 3). */
  readonly slowKernel?: number;
  /** Multiplies the w8a8 decode time. */
  readonly slowDecode?: number;
  readonly klScale?: number;
  readonly top1Drop?: number;
}

const KERNELS: [string, number][] = [
  ['gemv-b1 q_proj 4096x2560 bf16', 56],
  ['gemv-b1 q_proj 4096x2560 w8a8', 85],
  ['gemv-b1 gate_proj 9728x2560 bf16', 110],
];

/**
 * A bench run as the noise of this 2-core machine makes it: every timed sample is its true value × a per-sample
 * noise (σ 8%), × a drift per figure per run (σ 4%: caches, frequency, neighbours), × a machine factor per run
 * (σ 25%, the same for every figure of the run: a slower or busier machine); kernels also see load that changes
 * within the run.
 */
function simulateRun(seed: number, options: SimulatedRun = {}): LoadedRun {
  const normal = normals(seed);
  const machine = Math.exp(0.25 * normal());
  const rows: ResultRow[] = [];
  const base = { runId: `run-${seed}`, commit: 'abc', device: 'CPU', thinking: 'n/a', seed: null } as const;
  const timed = (trueMs: number, repeats: number) => {
    const drift = Math.exp(0.04 * normal());
    return summarize(Array.from({ length: repeats }, () => trueMs * machine * drift * Math.exp(0.08 * normal())));
  };
  const calibration = timed(20, 11);
  rows.push({ ...base, engine: 'host', format: 'bf16', kernel: 'bf16', task: 'calibration/cpu-probe', metric: 'median_ms', value: calibration.median, unit: 'ms', n: 11, ciLow: calibration.low, ciHigh: calibration.high });
  const copyMs = 11.6;
  const copy = timed(copyMs, 5);
  const copyBytes = 128 * 2 ** 20;
  const ceiling = copyBytes / (copy.median / 1000) / 1e9;
  const cpu = { ...base, engine: 'cpu' } as const;
  rows.push({ ...cpu, format: 'bf16', kernel: 'bf16', task: 'kernel/copy 64MiB', metric: 'median_ms', value: copy.median, unit: 'ms', n: 5, ciLow: copy.low, ciHigh: copy.high });
  rows.push({ ...cpu, format: 'bf16', kernel: 'bf16', task: 'kernel/copy 64MiB', metric: 'ceiling_gb_per_s', value: ceiling, unit: 'GB/s', n: 5, ciLow: null, ciHigh: null });
  for (const [index, [name, ms]] of KERNELS.entries()) {
    const kernel = name.endsWith('w8a8') ? 'w8a8' : 'bf16';
    // As the CPU engine times them: each kernel sample paired with a copy probe timed right after it. Load that
    // comes and goes between kernels (σ 40%: another process on the cores) slows both halves of a pair.
    const load = Math.exp(0.4 * normal());
    const drift = Math.exp(0.04 * normal());
    const noisy = (trueMs: number) => trueMs * machine * load * Math.exp(0.08 * normal());
    const kernelMs = Array.from({ length: 5 }, () => noisy(ms * (index === 0 ? (options.slowKernel ?? 1) : 1)) * drift);
    const probeMs = kernelMs.map(() => noisy(copyMs));
    const time = summarize(kernelMs);
    const fraction = summarize(kernelMs.map((kernelSample, i) => 21e6 / kernelSample / (copyBytes / probeMs[i]!)));
    const common = { ...cpu, format: kernel === 'bf16' ? 'bf16' : 'fp8', kernel, task: `kernel/${name}`, n: 5 } as const;
    rows.push({ ...common, metric: 'median_ms', value: time.median, unit: 'ms', ciLow: time.low, ciHigh: time.high });
    rows.push({ ...common, metric: 'fraction_of_ceiling', value: fraction.median, unit: 'ratio', ciLow: fraction.low, ciHigh: fraction.high });
  }
  for (const kernel of ['bf16', 'w8a8'] as const) {
    const format = kernel === 'bf16' ? 'bf16' : 'fp8';
    for (const [task, metric, tokens, ms] of [
      ['tiny/prefill-64', 'prefill_tokens_per_s', 64, 240],
      ['tiny/decode-b1', 'decode_tokens_per_s', 1, 75],
      ['tiny/decode-b4', 'decode_tokens_per_s', 4, 170],
    ] as const) {
      const time = timed(ms * (kernel === 'w8a8' && task === 'tiny/decode-b1' ? (options.slowDecode ?? 1) : 1), 12);
      rows.push({ ...cpu, format, kernel, task, metric, value: (tokens * 1000) / time.median, unit: 'tokens/s', n: 12, ciLow: (tokens * 1000) / time.high, ciHigh: (tokens * 1000) / time.low });
    }
  }
  const accuracy = { ...cpu, format: 'fp8', kernel: 'w8a8', task: 'accuracy-vs-bf16/tiny/8xall', unit: 'ratio', n: 237, ciLow: null, ciHigh: null } as const;
  rows.push({ ...accuracy, metric: 'kl_divergence_mean', value: 0.4722 * (options.klScale ?? 1), unit: 'nats' });
  rows.push({ ...accuracy, metric: 'top1_agreement', value: 170 / 237 - (options.top1Drop ?? 0) / 237 });
  return { dir: `/runs/run-${seed}`, runId: `run-${seed}`, rows, env: { commit: 'abc', machine: { cpu: 'CPU', cores: 2 }, extra: { kernelSources: { cpu: [{ name: 'matmul-bf16', file: 'src/kernels/matmul-bf16.ts', sha256: 'a'.repeat(64) }] } } } };
}

const baseline = makeBaseline([simulateRun(1), simulateRun(2)]);

describe('gate figures', () => {
  it('are ratios measured within the run: kernel / ceiling, tokens × probe, FP8 / BF16, and accuracy', () => {
    const figures = gateFigures(simulateRun(3).rows);
    const groups = new Set(figures.map((figure) => figure.group));
    expect(groups).toEqual(new Set(['kernel', 'speed', 'fp8-vs-bf16', 'accuracy']));
    expect(figures.filter((f) => f.group === 'kernel')).toHaveLength(3);
    expect(figures.filter((f) => f.group === 'speed')).toHaveLength(6);
    expect(figures.filter((f) => f.group === 'fp8-vs-bf16')).toHaveLength(3);
    for (const figure of figures.filter((f) => f.group !== 'accuracy')) expect(figure.relSpread).toBeGreaterThan(0);
  });

  it('do not move with the machine: a run twice as slow everywhere has the same figures', () => {
    const run = simulateRun(4);
    const slower = run.rows.map((row) =>
      row.unit === 'ms' ? { ...row, value: row.value * 2, ciLow: row.ciLow! * 2, ciHigh: row.ciHigh! * 2 } : row.unit === 'tokens/s' ? { ...row, value: row.value / 2, ciLow: row.ciLow! / 2, ciHigh: row.ciHigh! / 2 } : row,
    );
    const a = new Map(gateFigures(run.rows).map((f) => [f.key, f.value]));
    for (const figure of gateFigures(slower)) if (figure.group !== 'kernel') expect(figure.value).toBeCloseTo(a.get(figure.key)!, 10);
  });
});

describe('the gate', () => {
  it('passes a run against itself', () => {
    const run = simulateRun(1);
    const report = compareWithBaseline(run, makeBaseline([run]));
    expect(report.passed).toBe(true);
    expect(report.checks.every((check) => check.status === 'pass')).toBe(true);
  });

  it('does not flake: 300 noisy runs of the same commit, on machines ±25% apart, all pass', () => {
    const failures: string[] = [];
    for (let seed = 100; seed < 400; seed++) {
      const report = compareWithBaseline(simulateRun(seed), baseline);
      if (!report.passed) failures.push(formatGateReport(report));
    }
    expect(failures).toEqual([]);
  });

  it('fails a kernel slowed by redundant work (4×), naming it', () => {
    const report = compareWithBaseline(simulateRun(7, { slowKernel: 4 }), baseline);
    expect(report.passed, formatGateReport(report, { verbose: true })).toBe(false);
    const failed = report.checks.filter((check) => check.status === 'fail');
    expect(failed.map((check) => check.figure.task)).toEqual(['kernel/gemv-b1 q_proj 4096x2560 bf16']);
    expect(formatGateReport(report)).toMatch(/FAIL\s+\| kernel\s+\| cpu\s+\| bf16\s+\| kernel\/gemv-b1 q_proj 4096x2560 bf16 fraction_of_ceiling/);
  });

  it('fails an FP8 decode that got 2× slower, in its own speed and against BF16', () => {
    const report = compareWithBaseline(simulateRun(8, { slowDecode: 2 }), baseline);
    expect(report.passed).toBe(false);
    const failed = report.checks.filter((check) => check.status === 'fail').map((check) => `${check.figure.group} ${check.figure.metric}`);
    expect(failed).toContain('fp8-vs-bf16 decode_tokens_per_s_vs_bf16');
    expect(failed, formatGateReport(report, { verbose: true })).toContain("speed decode_tokens_per_s_per_probe");
  });

  it('fails when KL grows beyond its tolerance or two top-1 positions flip; one flip passes', () => {
    const kl = compareWithBaseline(simulateRun(9, { klScale: 1.5 }), baseline);
    expect(kl.passed).toBe(false);
    expect(kl.checks.find((check) => check.status === 'fail')?.figure.metric).toBe('kl_divergence_mean');
    expect(compareWithBaseline(simulateRun(9, { klScale: 1 + DEFAULT_GATE_RULE.klRelative / 2 }), baseline).passed).toBe(true);
    expect(compareWithBaseline(simulateRun(9, { top1Drop: 1 }), baseline).passed).toBe(true);
    const top1 = compareWithBaseline(simulateRun(9, { top1Drop: 2 }), baseline);
    expect(top1.passed).toBe(false);
    expect(top1.checks.find((check) => check.status === 'fail')?.figure.metric).toBe('top1_agreement');
  });

  it('lists figures the run lacks without failing, and fails when nothing matches', () => {
    const run = simulateRun(10);
    const partial = { ...run, rows: run.rows.filter((row) => !row.task.startsWith('kernel/')) };
    const report = compareWithBaseline(partial, baseline);
    expect(report.passed).toBe(true);
    expect(report.checks.filter((check) => check.status === 'missing')).toHaveLength(3);
    const empty = compareWithBaseline({ ...run, rows: [] }, baseline);
    expect(empty.passed).toBe(false);
    expect(formatGateReport(empty)).toContain('nothing was compared');
  });
});

describe('the baseline', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qb-baseline-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('records the spread between its runs, round-trips through its schema, and names changed kernels', async () => {
    const figure = baseline.figures.find((f) => f.group === 'speed')!;
    expect(figure.runs).toBe(2);
    expect(figure.runSpread).toBeGreaterThan(0);
    await writeBaseline(join(dir, 'baseline'), baseline, []);
    const read = await readBaseline(join(dir, 'baseline'));
    expect(read).toEqual(baseline);
    expect(await readFile(join(dir, 'baseline', 'README.md'), 'utf8')).toContain('max(floor, 3 × √(s_baseline² + s_run²) + d); a change within a tolerance above 50% is reported as too noisy');
    const run = simulateRun(11);
    const changed: LoadedRun = { ...run, env: { ...run.env, extra: { kernelSources: { cpu: [{ name: 'matmul-bf16', file: 'src/kernels/matmul-bf16.ts', sha256: 'b'.repeat(64) }] } } } };
    const report = compareWithBaseline(changed, read);
    expect(report.kernelChanges).toEqual([{ engine: 'cpu', name: 'matmul-bf16', file: 'src/kernels/matmul-bf16.ts', change: 'changed', baseline: 'a'.repeat(64), run: 'b'.repeat(64) }]);
    expect(formatGateReport(report)).toMatch(/cpu\s+changed\s+src\/kernels\/matmul-bf16\.ts\s+aaaaaaaaaaaa -> bbbbbbbbbbbb/);
    await expect(readBaseline(join(dir, 'nope'))).rejects.toThrow(/no baseline at .*--update-baseline/);
  });
});

describe('summarize', () => {
  it('gives the median with an order-statistic interval', () => {
    expect(summarize([5, 1, 3])).toMatchObject({ median: 3, low: 1, high: 5 });
    const nine = summarize([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(nine).toMatchObject({ median: 5, low: 2, high: 8 });
    expect(nine.relSpread).toBeCloseTo(0.6);
  });
});
