/**
 * The gate's report as text, in the manner of llama.cpp's compare-llama-bench: base | candidate | ratio with its
 * interval | samples | verdict per figure, worst first; then the accuracy figures, the kernel source files that
 * differ between the trees, and the verdict.
 */
import { markdownTable } from '../table.js';
import type { AbGateReport, AccuracyOutcome, FigureOutcome, ListedOutcome, SpeedOutcome } from './ab-gate.js';

const ms = (value: number): string => (Number.isFinite(value) ? (value >= 100 ? value.toFixed(1) : value >= 1 ? value.toFixed(2) : value.toFixed(3)) : '—');
const ratio = (value: number): string => (Number.isFinite(value) ? value.toFixed(3) : '—');

const VERDICT_ORDER: Record<string, number> = { fail: 0, missing: 1, undecided: 2, pass: 3, faster: 4, better: 5, removed: 6, new: 7, skipped: 8 };

function speedRows(outcomes: readonly SpeedOutcome[]): string[][] {
  return [...outcomes]
    .sort((a, b) => VERDICT_ORDER[a.verdict]! - VERDICT_ORDER[b.verdict]! || a.interval.ratio - b.interval.ratio)
    .map((outcome) => [
      outcome.verdict === 'fail' ? 'FAIL' : outcome.verdict,
      outcome.info.engine,
      outcome.info.kernel,
      `${outcome.info.name}${outcome.changed ? '' : ' (control)'}`,
      ms(outcome.baseMedianMs),
      ms(outcome.candidateMedianMs),
      `${ratio(outcome.interval.ratio)} [${ratio(outcome.interval.low)}, ${ratio(outcome.interval.high)}]`,
      `${outcome.interval.pairs} / ${outcome.interval.rounds}`,
      `−${(100 * outcome.floor).toFixed(0)}%`,
    ]);
}

function accuracyRows(outcomes: readonly AccuracyOutcome[]): string[][] {
  const value = (outcome: AccuracyOutcome, x: number): string => (outcome.figure.metric === 'kl_divergence_mean' ? x.toExponential(3) : x.toFixed(4));
  return [...outcomes]
    .sort((a, b) => VERDICT_ORDER[a.verdict]! - VERDICT_ORDER[b.verdict]!)
    .map((outcome) => [
      outcome.verdict === 'fail' ? 'FAIL' : outcome.verdict,
      outcome.figure.engine,
      outcome.figure.kernel,
      `${outcome.figure.comparison} ${outcome.figure.metric}`,
      value(outcome, outcome.base),
      value(outcome, outcome.figure.value),
      outcome.allowed,
      String(outcome.figure.positions),
    ]);
}

const count = (outcomes: readonly FigureOutcome[], verdict: string): number => outcomes.filter((outcome) => outcome.verdict === verdict).length;

export function formatAbGateReport(report: AbGateReport, options: { verbose?: boolean } = {}): string {
  const speed = report.outcomes.filter((outcome): outcome is SpeedOutcome => outcome.kind === 'speed');
  const accuracy = report.outcomes.filter((outcome): outcome is AccuracyOutcome => outcome.kind === 'accuracy');
  const listed = report.outcomes.filter((outcome): outcome is ListedOutcome => outcome.kind === 'listed' && (options.verbose || outcome.verdict !== 'skipped'));
  const level = `${(100 * report.rule.level).toFixed(0)}%`;
  const lines: string[] = [`base ${report.base.commit.slice(0, 12)} (${report.base.root}) vs candidate ${report.candidate.commit} (${report.candidate.root})`, ''];
  if (speed.length > 0) {
    lines.push(markdownTable(['verdict', 'engine', 'mode', 'figure', 'base ms', 'candidate ms', `speed ratio [${level} interval]`, 'pairs / rounds', 'floor'], speedRows(speed), new Set([4, 5, 6, 7, 8])), '');
  }
  if (accuracy.length > 0) {
    lines.push(markdownTable(['verdict', 'engine', 'mode', 'accuracy figure', 'base', 'candidate', 'allowed', 'positions'], accuracyRows(accuracy), new Set([4, 5, 7])), '');
  }
  for (const outcome of listed.sort((a, b) => VERDICT_ORDER[a.verdict]! - VERDICT_ORDER[b.verdict]!)) {
    lines.push(`${outcome.verdict === 'missing' ? 'FAIL missing' : outcome.verdict}: ${outcome.info.key}${outcome.note ? ` — ${outcome.note}` : ''}`);
  }
  for (const engine of report.plan.notRun) lines.push(`not run here (either tree): ${engine.engine} — ${engine.reason}`);
  if (report.plan.kernelChanges.length > 0) {
    lines.push('', 'kernel source files that differ between the trees:');
    for (const change of report.plan.kernelChanges) lines.push(`  ${change.engine.padEnd(7)} ${change.change.padEnd(8)} ${change.file}${change.viaDependency ? ' (through what it includes or imports)' : ''}`);
  } else {
    lines.push('', 'kernel source files: the same in both trees');
  }
  lines.push(
    '',
    `${speed.length} speed figures measured (${speed.filter((outcome) => !outcome.changed).length} as controls) in ${report.rounds} rounds, ${(report.elapsedMs / 1000).toFixed(0)} s` +
      ` (${report.stopped === 'decided' ? 'all decided' : report.stopped === 'budget' ? 'time budget reached' : 'round limit reached'}): ` +
      `${count(speed, 'fail')} slower beyond the floor, ${count(speed, 'pass')} pass, ${count(speed, 'faster')} faster, ${count(speed, 'undecided')} undecided; ` +
      `${accuracy.length} accuracy figures (${count(accuracy, 'fail')} worse); ${count(report.outcomes, 'missing')} missing, ${count(report.outcomes, 'removed')} removed, ${count(report.outcomes, 'new')} new, ${count(report.outcomes, 'skipped')} unchanged and skipped`,
  );
  if (count(speed, 'undecided') > 0) lines.push('undecided figures do not fail the gate: the noise here could not tell them from the floor (more time: --budget)');
  for (const note of report.notes) lines.push(`note: ${note}`);
  lines.push('', report.passed ? 'gate: PASS' : 'gate: FAIL');
  return lines.join('\n');
}
