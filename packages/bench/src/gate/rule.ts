/**
 * When the A/B gate fails a figure. Speed figures (a kernel call, an engine's prefill or decode step) fail only
 * when the whole interval of candidate speed / base speed lies below 1 − floor, so a change within the floor, or
 * one the noise cannot tell from the floor, never fails; accuracy figures (exact on fixed prompts) keep fixed
 * tolerances against the base tree's value.
 */
import type { RatioInterval } from './paired-ratio.js';

export interface GateRule {
  /** Two-sided level of each figure's interval. */
  readonly level: number;
  /** Largest slowdown that passes, as a fraction of speed, per figure class. */
  readonly floors: {
    /** Kernel microbenchmarks on a CPU or a hardware GPU. */
    readonly kernel: number;
    /** Engine prefill / decode steps on a CPU or a hardware GPU. */
    readonly speed: number;
    /** Anything on a software GPU adapter (SwiftShader): one shared, noisy CPU behind a GPU API. */
    readonly software: number;
  };
  /** Rounds (fresh worker pairs) before any figure is decided, and at most. */
  readonly minRounds: number;
  readonly maxRounds: number;
  /** Mean KL may not exceed base × (1 + klRelative) + klAbsolute. */
  readonly klRelative: number;
  readonly klAbsolute: number;
  /** Top-1 agreement may not drop by more than max(top1Absolute, 1 / positions). */
  readonly top1Absolute: number;
}

export const DEFAULT_GATE_RULE: GateRule = {
  level: 0.95,
  floors: { kernel: 0.05, speed: 0.05, software: 0.2 },
  minRounds: 3,
  maxRounds: 8,
  klRelative: 0.1,
  klAbsolute: 1e-6,
  top1Absolute: 0.005,
};

export type SpeedVerdict = 'fail' | 'pass' | 'faster' | 'undecided';

export function floorOf(rule: GateRule, group: 'kernel' | 'speed', software: boolean): number {
  return software ? rule.floors.software : rule.floors[group];
}

/** fail: the interval lies below 1 − floor; pass: above it; faster: above 1 + floor; otherwise undecided. */
export function speedVerdict(interval: RatioInterval, floor: number, rule: GateRule): SpeedVerdict {
  if (interval.rounds < rule.minRounds || !Number.isFinite(interval.low)) return 'undecided';
  if (interval.high < 1 - floor) return 'fail';
  if (interval.low > 1 + floor) return 'faster';
  if (interval.low >= 1 - floor) return 'pass';
  return 'undecided';
}

export type AccuracyVerdict = 'fail' | 'pass' | 'better';

export function accuracyVerdict(metric: 'kl_divergence_mean' | 'top1_agreement', base: number, candidate: number, positions: number, rule: GateRule): { verdict: AccuracyVerdict; allowed: string } {
  if (!Number.isFinite(candidate)) return { verdict: 'fail', allowed: 'a finite value' };
  if (metric === 'kl_divergence_mean') {
    const allowed = base * (1 + rule.klRelative) + rule.klAbsolute;
    const better = base * (1 - rule.klRelative) - rule.klAbsolute;
    return { verdict: candidate > allowed ? 'fail' : candidate < better ? 'better' : 'pass', allowed: `≤ ${allowed.toExponential(2)}` };
  }
  const drop = Math.max(rule.top1Absolute, 1 / Math.max(1, positions));
  const change = candidate - base;
  return { verdict: change < -drop - 1e-12 ? 'fail' : change > drop ? 'better' : 'pass', allowed: `drop ≤ ${(100 * drop).toFixed(1)} pts` };
}

export function describeGateRule(rule: GateRule = DEFAULT_GATE_RULE): string {
  const pct = (x: number): string => `${(100 * x).toFixed(0)}%`;
  return [
    `speed: base and candidate sampled in pairs, alternately, in rounds of fresh worker processes; per figure the speed ratio`,
    `  candidate/base with a ${pct(rule.level)} Student-t interval over the rounds' median log-ratios (${rule.minRounds}–${rule.maxRounds} rounds, adaptive);`,
    `  FAIL only when the whole interval lies below 1 − floor (floors: kernels ${pct(rule.floors.kernel)}, engine speed ${pct(rule.floors.speed)},`,
    `  software GPU adapters ${pct(rule.floors.software)}); pass when it lies above; otherwise undecided (listed, not failed)`,
    `accuracy (exact on fixed prompts): FAIL when mean KL > base × ${1 + rule.klRelative} + ${rule.klAbsolute} nats, or top-1 agreement drops by more than max(${rule.top1Absolute}, 1/positions)`,
    `a figure of the base missing from the candidate FAILS unless reports/baseline/removed.json declares it`,
  ].join('\n');
}
