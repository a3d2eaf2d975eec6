/**
 * Cell metrics and paired deltas as tidy result rows (core's results schema) and as a summary table in the manner
 * of lm-evaluation-harness (`| Task | Mode | Kernel | Metric | Value | ± | n |`).
 *
 * Metric names: `accuracy` (avg@n), `pass@k`, `truncation-rate`, `mean-reasoning-tokens`, `mean-answer-tokens`,
 * `tokens-per-second`, `sequence-tokens-per-second`; deltas `delta-accuracy-vs-bf16` (on the FP8 kernel's row)
 * and `delta-accuracy-thinking-on-vs-off` (thinking `n/a`: it spans both modes), each with `…-p` (the exact test;
 * its unit names which), `…-p-mid` and `…-p-bootstrap`.
 */
import { type KernelMode, type ResultRow, weightFormatOf } from '@quantbench/core';
import type { CellMetrics, PairedDelta } from './cell.js';

export interface RowContext {
  readonly runId: string;
  readonly commit: string;
  readonly engine: string;
  readonly device: string;
  readonly seed: number;
}

export interface RowCell {
  readonly task: string;
  readonly kernel: KernelMode;
  readonly thinking: 'on' | 'off' | 'n/a';
}

function row(ctx: RowContext, cell: RowCell, metric: string, value: number, unit: string, n: number, ci?: { low: number; high: number }): ResultRow[] {
  if (!Number.isFinite(value)) return [];
  const finite = ci && Number.isFinite(ci.low) && Number.isFinite(ci.high);
  return [
    {
      runId: ctx.runId,
      commit: ctx.commit,
      engine: ctx.engine,
      device: ctx.device,
      format: weightFormatOf(cell.kernel),
      kernel: cell.kernel,
      thinking: cell.thinking,
      task: cell.task,
      metric,
      value,
      unit,
      n,
      ciLow: finite ? ci.low : null,
      ciHigh: finite ? ci.high : null,
      seed: ctx.seed,
    },
  ];
}

export function cellRows(ctx: RowContext, cell: RowCell, metrics: CellMetrics): ResultRow[] {
  return [
    ...row(ctx, cell, 'accuracy', metrics.accuracy.mean, `fraction (avg@${metrics.samplesPerProblem})`, metrics.problems, metrics.accuracy),
    ...metrics.passAtK.flatMap((p) => row(ctx, cell, `pass@${p.k}`, p.interval.mean, 'fraction', metrics.problems, p.interval)),
    ...row(ctx, cell, 'truncation-rate', metrics.truncationRate, 'fraction', metrics.totalSamples),
    ...row(ctx, cell, 'mean-reasoning-tokens', metrics.meanReasoningTokens, 'tokens', metrics.totalSamples),
    ...row(ctx, cell, 'mean-answer-tokens', metrics.meanAnswerTokens, 'tokens', metrics.totalSamples),
    ...row(ctx, cell, 'tokens-per-second', metrics.tokensPerSecond, 'tokens/s', metrics.totalSamples),
    ...row(ctx, cell, 'sequence-tokens-per-second', metrics.sequenceTokensPerSecond, 'tokens/s', metrics.totalSamples),
  ];
}

export function deltaRows(ctx: RowContext, cell: RowCell, metric: string, delta: PairedDelta): ResultRow[] {
  const testName = delta.test === 'mcnemar-exact' ? 'McNemar exact' : 'sign test';
  return [
    ...row(ctx, cell, metric, delta.delta.mean, 'fraction', delta.problems, delta.delta),
    ...row(ctx, cell, `${metric}-p`, delta.p, `p (${testName}, two-sided)`, delta.problems),
    ...row(ctx, cell, `${metric}-p-mid`, delta.pMid, `p (${testName} mid-p, two-sided)`, delta.problems),
    ...row(ctx, cell, `${metric}-p-bootstrap`, delta.pBootstrap, `p (paired bootstrap, two-sided, B=${delta.delta.resamples})`, delta.problems),
  ];
}

export interface TableLine {
  readonly task: string;
  readonly mode: string;
  readonly kernel: string;
  readonly metric: string;
  readonly value: string;
  /** Half the width of the 95% interval (the interval itself is in results.json). */
  readonly plusMinus: string;
  readonly n: string;
}

const fmt = (value: number, digits = 4): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const halfWidth = (ci: { low: number; high: number }): string => (Number.isFinite(ci.low) && Number.isFinite(ci.high) ? fmt((ci.high - ci.low) / 2) : '');

export function cellTableLines(cell: RowCell, metrics: CellMetrics): TableLine[] {
  const base = { task: cell.task, mode: cell.thinking === 'n/a' ? '' : `think-${cell.thinking}`, kernel: cell.kernel };
  return [
    { ...base, metric: `accuracy (avg@${metrics.samplesPerProblem})`, value: fmt(metrics.accuracy.mean), plusMinus: halfWidth(metrics.accuracy), n: String(metrics.problems) },
    ...metrics.passAtK.map((p) => ({ ...base, metric: `pass@${p.k}`, value: fmt(p.interval.mean), plusMinus: halfWidth(p.interval), n: String(metrics.problems) })),
    { ...base, metric: 'truncation rate', value: fmt(metrics.truncationRate), plusMinus: '', n: String(metrics.totalSamples) },
    { ...base, metric: 'reasoning tokens (mean)', value: fmt(metrics.meanReasoningTokens, 1), plusMinus: '', n: String(metrics.totalSamples) },
    { ...base, metric: 'answer tokens (mean)', value: fmt(metrics.meanAnswerTokens, 1), plusMinus: '', n: String(metrics.totalSamples) },
    { ...base, metric: 'tokens/s', value: fmt(metrics.tokensPerSecond, 1), plusMinus: '', n: String(metrics.totalSamples) },
  ];
}

export function deltaTableLines(cell: RowCell, label: string, delta: PairedDelta): TableLine[] {
  const base = { task: cell.task, mode: cell.thinking === 'n/a' ? 'on − off' : `think-${cell.thinking}`, kernel: cell.kernel };
  const test = delta.test === 'mcnemar-exact' ? 'McNemar exact' : 'sign test';
  return [
    { ...base, metric: `Δ accuracy ${label}`, value: fmt(delta.delta.mean), plusMinus: halfWidth(delta.delta), n: String(delta.problems) },
    { ...base, metric: `  p (${test}; bootstrap ${fmt(delta.pBootstrap, 3)})`, value: fmt(delta.p), plusMinus: '', n: `${delta.better}+/${delta.worse}-` },
  ];
}

/** A Markdown table: text columns left-aligned, numbers right-aligned. */
export function formatTable(lines: readonly TableLine[]): string {
  const header: TableLine = { task: 'Task', mode: 'Mode', kernel: 'Kernel', metric: 'Metric', value: 'Value', plusMinus: '±', n: 'n' };
  const keys = ['task', 'mode', 'kernel', 'metric', 'value', 'plusMinus', 'n'] as const;
  const right = new Set<string>(['value', 'plusMinus', 'n']);
  const widths = keys.map((k) => Math.max(...[header, ...lines].map((l) => l[k].length)));
  const render = (l: TableLine): string => `|${keys.map((k, i) => (right.has(k) ? l[k].padStart(widths[i]!) : l[k].padEnd(widths[i]!))).join('|')}|`;
  const rule = `|${keys.map((k, i) => (right.has(k) ? `${'-'.repeat(Math.max(1, widths[i]! - 1))}:` : '-'.repeat(widths[i]!))).join('|')}|`;
  return [render(header), rule, ...lines.map(render)].join('\n');
}
