/**
 * A gate run as a run report (`reports/runs/<time>-<commit>-gate/`): tidy rows (each measured figure's speed ratio
 * with its interval and both medians, each accuracy figure in both trees), gate.json with the whole report and
 * verdicts, gate.md with the printed table, workers.log with what the worker processes printed, and env.json
 * naming both commits and the machine.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ResultRow, weightFormatOf } from '@quantbench/core';
import { createRunReport, describeEnvironment, type RunReport } from '../report.js';
import type { AbGateReport } from './ab-gate.js';
import { describeGateRule } from './rule.js';

export function gateRows(report: AbGateReport, runId: string): ResultRow[] {
  const rows: ResultRow[] = [];
  const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
  for (const outcome of report.outcomes) {
    if (outcome.kind === 'speed') {
      const { info, interval } = outcome;
      const base = { runId, commit: report.candidate.commit, engine: info.engine, device: report.devices[info.engine] ?? info.engine, format: weightFormatOf(info.kernel), kernel: info.kernel, thinking: 'n/a', task: `gate/${info.group}/${info.name}`, seed: null } as const;
      rows.push(
        { ...base, metric: 'speed_ratio', value: interval.ratio, unit: 'candidate/base', n: interval.pairs, ciLow: finite(interval.low), ciHigh: finite(interval.high) },
        { ...base, metric: 'base_median_ms', value: outcome.baseMedianMs, unit: 'ms', n: interval.pairs, ciLow: null, ciHigh: null },
        { ...base, metric: 'candidate_median_ms', value: outcome.candidateMedianMs, unit: 'ms', n: interval.pairs, ciLow: null, ciHigh: null },
      );
    } else if (outcome.kind === 'accuracy') {
      const { figure } = outcome;
      const base = { runId, commit: report.candidate.commit, engine: figure.engine, device: report.devices[figure.engine] ?? figure.engine, format: weightFormatOf(figure.kernel), kernel: figure.kernel, thinking: 'n/a', task: `gate/accuracy/${figure.comparison}`, n: figure.positions, ciLow: null, ciHigh: null, seed: null } as const;
      const unit = figure.metric === 'kl_divergence_mean' ? 'nats' : 'ratio';
      rows.push({ ...base, metric: figure.metric, value: figure.value, unit }, { ...base, metric: `${figure.metric}_base`, value: outcome.base, unit });
    }
  }
  return rows.filter((row) => Number.isFinite(row.value));
}

export async function writeGateRun(reportsDir: string, report: AbGateReport, table: string, workerLog: readonly string[] = []): Promise<RunReport> {
  const environment = describeEnvironment({ gate: { base: report.base.commit, baseRoot: report.base.root, candidate: report.candidate.commit, rule: describeGateRule(report.rule), unchanged: report.unchanged }, devices: report.devices });
  const run = await createRunReport({ reportsDir, name: 'gate', environment });
  await run.add(gateRows(report, run.runId));
  await writeFile(join(run.dir, 'gate.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(run.dir, 'gate.md'), `${table}\n`);
  await writeFile(join(run.dir, 'workers.log'), workerLog.map((line) => `${line}\n`).join(''));
  return run;
}
