/**
 * The A/B regression gate: the base commit and the candidate (the working tree) benchmarked in one job on one
 * machine, interleaved, and judged on paired statistics (the method of Chromium's pinpoint and of
 * llama.cpp's compare-llama-bench). Nothing measured elsewhere or earlier is ever compared.
 *
 * Rounds: each round starts a fresh worker process per tree, prepares every figure still undecided in both, then
 * takes pairs of single calls, base and candidate side by side in alternating order (A B, B A, …), cycling through
 * the figures, so load that comes and goes hits both trees alike and no figure's samples all fall in one bad
 * moment. After each round every figure with enough rounds is decided (rule.ts); sampling stops when all are, or
 * when the time budget or the round limit is reached, and what is left is listed as undecided. Accuracy figures are
 * computed once per tree.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { percentile } from '@quantbench/core';
import { z } from 'zod';
import { gitCommit } from '../report.js';
import { type BaseTree, prepareBaseTree } from './base-tree.js';
import { type PairedSamples, pairedRatioInterval, type RatioInterval } from './paired-ratio.js';
import { type GatePlan, isWanted, planGate, type PlannedFigure, type UnchangedPolicy } from './plan.js';
import { readRemovedFigures } from './pointer.js';
import {
  type AccuracyFigure,
  AccuracyResultSchema,
  type DescribeResult,
  DescribeResultSchema,
  type FigureInfo,
  FingerprintResultSchema,
  PrepareResultSchema,
  PROTOCOL_VERSION,
  SampleResultSchema,
} from './protocol.js';
import { accuracyVerdict, type AccuracyVerdict, DEFAULT_GATE_RULE, floorOf, type GateRule, speedVerdict, type SpeedVerdict } from './rule.js';
import { type TreeLabel, WorkerClient } from './worker-client.js';

export interface AbGateOptions {
  /** The candidate tree (the working tree, uncommitted changes included). */
  readonly candidateRoot: string;
  /** The base commit (a ref in the candidate's repository). */
  readonly base: string;
  /** The weights both trees measure. */
  readonly bf16Dir: string;
  readonly fp8Dir?: string;
  readonly promptsFile: string;
  readonly unchanged?: UnchangedPolicy;
  readonly only?: readonly string[];
  readonly engines?: readonly string[];
  /** Stop starting new figures after this long (the base tree's install not counted). */
  readonly budgetMs?: number;
  readonly rule?: GateRule;
  /** Tests of the gate only: QUANTBENCH_GATE_SLOWDOWN for the candidate's worker. */
  readonly candidateSlowdown?: string;
  readonly buildCudaAddon?: boolean;
  /** Where the base tree is kept (default: the cache). */
  readonly cacheDir?: string;
  readonly onProgress?: (message: string) => void;
  /** Every line a worker prints. */
  readonly onWorkerLine?: (line: string) => void;
}

export type FigureVerdict = SpeedVerdict | AccuracyVerdict | 'skipped' | 'missing' | 'removed' | 'new';

export interface SpeedOutcome {
  readonly kind: 'speed';
  readonly info: FigureInfo;
  readonly changed: boolean;
  readonly floor: number;
  readonly verdict: SpeedVerdict;
  readonly interval: RatioInterval;
  readonly baseMedianMs: number;
  readonly candidateMedianMs: number;
  /** Every pair, per round (kept in gate.json, so a verdict can be checked). */
  readonly samples: readonly (readonly PairedSamples[])[];
}

export interface AccuracyOutcome {
  readonly kind: 'accuracy';
  readonly figure: AccuracyFigure;
  readonly base: number;
  readonly verdict: AccuracyVerdict;
  readonly allowed: string;
}

export interface ListedOutcome {
  readonly kind: 'listed';
  readonly info: FigureInfo;
  readonly verdict: 'skipped' | 'missing' | 'removed' | 'new';
  readonly note?: string;
}

export type FigureOutcome = SpeedOutcome | AccuracyOutcome | ListedOutcome;

export interface AbGateReport {
  readonly base: BaseTree & { readonly describedCommit: string };
  readonly candidate: { readonly root: string; readonly commit: string };
  readonly rule: GateRule;
  readonly unchanged: UnchangedPolicy;
  readonly plan: GatePlan;
  /** Each engine's device, as the candidate's worker names it. */
  readonly devices: Readonly<Record<string, string>>;
  readonly outcomes: readonly FigureOutcome[];
  readonly rounds: number;
  /** What the reader should know about how this run was measured (e.g. sampled unpinned). */
  readonly notes: readonly string[];
  readonly elapsedMs: number;
  /** Why sampling stopped. */
  readonly stopped: 'decided' | 'budget' | 'rounds';
  readonly passed: boolean;
}

/** Pairs per figure per round: about PAIR_TARGET_MS of calls per side, within [MIN_PAIRS, MAX_PAIRS]. */
const PAIR_TARGET_MS = 500;
const MIN_PAIRS = 5;
const MAX_PAIRS = 15;

interface Workers {
  readonly base: WorkerClient;
  readonly candidate: WorkerClient;
}

const median = (values: readonly number[]): number => percentile([...values].sort((a, b) => a - b), 0.5);

export async function runAbGate(options: AbGateOptions): Promise<AbGateReport> {
  const progress = options.onProgress ?? (() => {});
  const rule = options.rule ?? DEFAULT_GATE_RULE;
  const unchanged = options.unchanged ?? 'skip';
  const budgetMs = options.budgetMs ?? 20 * 60_000;
  const base = await prepareBaseTree(options.candidateRoot, options.base, { ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}), buildCudaAddon: options.buildCudaAddon ?? false, onProgress: progress });
  const removedFigures = await readRemovedFigures(join(options.candidateRoot, 'reports', 'baseline'));
  const started = performance.now();
  const args = ['--bf16', options.bf16Dir, ...(options.fp8Dir ? ['--fp8', options.fp8Dir] : []), '--prompts', options.promptsFile];
  const log = options.onWorkerLine ?? (() => {});
  const startWorkers = (): Workers => ({
    base: WorkerClient.start({ label: 'base', root: base.root, args, log }),
    candidate: WorkerClient.start({ label: 'candidate', root: options.candidateRoot, args, log, ...(options.candidateSlowdown ? { env: { QUANTBENCH_GATE_SLOWDOWN: options.candidateSlowdown } } : {}) }),
  });

  let plan: GatePlan | undefined;
  let describedBase = '';
  const devices: Record<string, string> = {};
  let accuracy: AccuracyOutcome[] = [];
  const samples = new Map<string, PairedSamples[][]>();
  const pairsPerRound = new Map<string, number>();
  const decided = new Map<string, SpeedVerdict>();
  const notes = new Set<string>();
  let rounds = 0;
  let stopped: AbGateReport['stopped'] = 'rounds';
  const overBudget = (): boolean => performance.now() - started > budgetMs;

  for (let round = 0; round < rule.maxRounds; round++) {
    const workers = startWorkers();
    try {
      const [baseDescription, candidateDescription] = await Promise.all([describe(workers.base, options.engines), describe(workers.candidate, options.engines)]);
      if (!plan) {
        describedBase = baseDescription.commit;
        for (const engine of candidateDescription.engines) if (engine.available) devices[engine.name] = engine.device;
        plan = await makePlan(workers, baseDescription, candidateDescription, { unchanged, removedFigures, ...(options.only ? { only: options.only } : {}), ...(options.engines ? { engines: options.engines } : {}) });
        progress(`plan: ${plan.measured.length} figures to measure (${plan.measured.filter((figure) => figure.changed).length} changed), ${plan.skipped.length} unchanged and skipped, ${plan.missing.length} missing, ${plan.added.length} new`);
        accuracy = await compareAccuracy(workers, plan.accuracyEngines, rule, progress);
      }
      const pending = plan.measured.filter((figure) => !decided.has(figure.info.key) || decided.get(figure.info.key) === 'undecided');
      if (pending.length === 0) {
        stopped = 'decided';
        break;
      }
      progress(`round ${round + 1}: ${pending.length} figures`);
      await sampleRound(workers, pending, round, { samples, pairsPerRound, notes }, overBudget, progress);
    } finally {
      await Promise.all([workers.base.close(), workers.candidate.close()]);
    }
    rounds = round + 1;
    for (const figure of plan.measured) {
      const interval = pairedRatioInterval(samples.get(figure.info.key) ?? [], rule.level);
      decided.set(figure.info.key, speedVerdict(interval, floorOf(rule, figure.info.group, figure.software), rule));
    }
    if ([...decided.values()].every((verdict) => verdict !== 'undecided') && rounds >= rule.minRounds) {
      stopped = 'decided';
      break;
    }
    if (overBudget()) {
      stopped = 'budget';
      break;
    }
  }
  if (!plan) throw new Error('gate: no round ran (maxRounds is 0)');
  if (plan.measured.length === 0) stopped = 'decided';

  const outcomes: FigureOutcome[] = [
    ...plan.measured.map((figure): SpeedOutcome => speedOutcome(figure, samples.get(figure.info.key) ?? [], rule)),
    ...accuracy,
    ...plan.missing.map((info): ListedOutcome => ({ kind: 'listed', info, verdict: 'missing', note: 'in the base, not in the candidate: declare it in reports/baseline/removed.json if that is on purpose' })),
    ...plan.removed.map(({ reason, ...info }): ListedOutcome => ({ kind: 'listed', info, verdict: 'removed', note: reason })),
    ...plan.added.map((info): ListedOutcome => ({ kind: 'listed', info, verdict: 'new' })),
    ...plan.skipped.map((info): ListedOutcome => ({ kind: 'listed', info, verdict: 'skipped', note: 'unchanged in both trees' })),
  ];
  const passed = !outcomes.some((outcome) => outcome.verdict === 'fail' || outcome.verdict === 'missing');
  return {
    base: { ...base, describedCommit: describedBase },
    candidate: { root: options.candidateRoot, commit: gitCommit(options.candidateRoot) },
    rule,
    unchanged,
    plan,
    devices,
    outcomes,
    rounds,
    notes: [...notes],
    elapsedMs: performance.now() - started,
    stopped,
    passed,
  };
}

async function describe(worker: WorkerClient, engines: readonly string[] | undefined): Promise<DescribeResult> {
  const description = await worker.request({ op: 'describe', ...(engines ? { engines: [...engines] } : {}) }, DescribeResultSchema);
  if (description.protocol !== PROTOCOL_VERSION) {
    throw new Error(`the ${worker.label} tree speaks gate protocol v${description.protocol}, this gate v${PROTOCOL_VERSION}: gate against a base from the same protocol (a commit at or after the one that introduced v${PROTOCOL_VERSION})`);
  }
  return description;
}

async function makePlan(
  workers: Workers,
  base: DescribeResult,
  candidate: DescribeResult,
  options: { unchanged: UnchangedPolicy; removedFigures: Awaited<ReturnType<typeof readRemovedFigures>>; only?: readonly string[]; engines?: readonly string[] },
): Promise<GatePlan> {
  // A kernel whose source closure agrees may still compile to different code (generated WGSL): ask both trees.
  const fingerprints = { base: new Map<string, string>(), candidate: new Map<string, string>() };
  const candidateFingerprints = new Map(candidate.figures.map((info) => [info.key, info.fingerprint]));
  for (const info of base.figures) {
    if (info.group !== 'kernel' || candidateFingerprints.get(info.key) !== info.fingerprint) continue;
    if (!isWanted(info, options)) continue;
    const [before, after] = await Promise.all([workers.base.request({ op: 'fingerprint', key: info.key }, FingerprintResultSchema), workers.candidate.request({ op: 'fingerprint', key: info.key }, FingerprintResultSchema)]);
    fingerprints.base.set(info.key, before.fingerprint);
    fingerprints.candidate.set(info.key, after.fingerprint);
  }
  const softwareEngines = new Set([...base.engines, ...candidate.engines].filter((engine) => engine.available && engine.software).map((engine) => engine.name));
  return planGate(base, candidate, fingerprints, {
    unchanged: options.unchanged,
    removed: options.removedFigures,
    softwareEngines,
    ...(options.only ? { only: options.only } : {}),
    ...(options.engines ? { engines: options.engines } : {}),
  });
}

async function compareAccuracy(workers: Workers, engines: readonly string[], rule: GateRule, progress: (message: string) => void): Promise<AccuracyOutcome[]> {
  if (engines.length === 0) return [];
  progress(`accuracy: ${engines.join(', ')} (fixed prompts, once per tree)`);
  const before = await workers.base.request({ op: 'accuracy', engines: [...engines] }, AccuracyResultSchema);
  const after = await workers.candidate.request({ op: 'accuracy', engines: [...engines] }, AccuracyResultSchema);
  const baseByKey = new Map(before.figures.map((figure) => [figure.key, figure]));
  return after.figures.flatMap((figure): AccuracyOutcome[] => {
    const old = baseByKey.get(figure.key);
    if (!old) return [];
    const { verdict, allowed } = accuracyVerdict(figure.metric, old.value, figure.value, figure.positions, rule);
    return [{ kind: 'accuracy', figure, base: old.value, verdict, allowed }];
  });
}

/**
 * Pins both workers to one core while they sample single-threaded figures (CPU kernels), so the two trees' calls
 * run on the same core: a host gives a virtual CPU of a shared machine good and bad spells (measured on this kind
 * of VM: a GEMV 40% slower on one of the two cores for seconds at a time), and pairs only cancel what both sides
 * share. Other figures use every core in both trees. Without taskset it says so once and samples unpinned.
 */
class Pinning {
  private current = '';
  private failure: string | undefined;
  readonly all = `0-${availableParallelism() - 1}`;

  constructor(
    private readonly workers: Workers,
    private readonly onFailure: (message: string) => void,
  ) {}

  /** The core single-threaded figures run on in `round` (a different one each round). */
  coreFor(round: number): string {
    return String(round % availableParallelism());
  }

  async set(cpus: string): Promise<void> {
    if (this.failure || cpus === this.current || availableParallelism() < 2) return;
    try {
      await Promise.all([this.workers.base.pin(cpus), this.workers.candidate.pin(cpus)]);
      this.current = cpus;
    } catch (error) {
      this.failure = error instanceof Error ? error.message : String(error);
      this.onFailure(`cannot pin the workers to one core (${this.failure.split('\n')[0]}): single-threaded figures are sampled unpinned, with more noise`);
    }
  }
}

/**
 * One round: every pending figure prepared in both trees (the trees in parallel), then sampled interleaved — each
 * pass takes one pair of every figure that still wants one, in alternating order, the single-threaded ones with
 * both workers pinned to one core — so a disturbance that lasts a while touches a few pairs of many figures rather
 * than every pair of one. Everything prepared is released.
 */
async function sampleRound(
  workers: Workers,
  pending: readonly PlannedFigure[],
  round: number,
  state: { samples: Map<string, PairedSamples[][]>; pairsPerRound: Map<string, number>; notes: Set<string> },
  overBudget: () => boolean,
  progress: (message: string) => void,
): Promise<void> {
  const prepared: PlannedFigure[] = [];
  const labels: TreeLabel[] = ['base', 'candidate'];
  const pinning = new Pinning(workers, (note) => {
    state.notes.add(note);
    progress(note);
  });
  try {
    for (const figure of pending) {
      if (overBudget()) break;
      const key = figure.info.key;
      const results = await Promise.allSettled(labels.map((label) => workers[label].request({ op: 'prepare', key }, PrepareResultSchema)));
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) {
        await Promise.all(labels.filter((_, i) => results[i]!.status === 'fulfilled').map((label) => workers[label].request({ op: 'release', key }, z.unknown())));
        throw failed.reason;
      }
      prepared.push(figure);
      if (!state.pairsPerRound.has(key)) {
        const callMs = Math.max(...results.map((result) => (result as PromiseFulfilledResult<{ callMs: number }>).value.callMs), 1e-3);
        state.pairsPerRound.set(key, Math.min(MAX_PAIRS, Math.max(MIN_PAIRS, Math.ceil(PAIR_TARGET_MS / callMs))));
      }
    }
    progress(`round ${round + 1}: ${prepared.length} figures prepared in both trees; sampling them interleaved`);
    // Single-threaded figures first in every pass, so the workers change cores twice a pass at most.
    const ordered = [...prepared.filter((figure) => figure.info.singleThread), ...prepared.filter((figure) => !figure.info.singleThread)];
    const taken = new Map<string, PairedSamples[]>(prepared.map((figure) => [figure.info.key, []]));
    for (let pass = 0; ; pass++) {
      const active = ordered.filter((figure) => taken.get(figure.info.key)!.length < state.pairsPerRound.get(figure.info.key)!);
      if (active.length === 0) break;
      for (const [i, figure] of active.entries()) {
        const key = figure.info.key;
        await pinning.set(figure.info.singleThread ? pinning.coreFor(round) : pinning.all);
        // A B, B A, …, shifted by one in odd rounds.
        const order: TreeLabel[] = (pass + i + round) % 2 === 0 ? ['base', 'candidate'] : ['candidate', 'base'];
        const ms: Partial<Record<TreeLabel, number>> = {};
        for (const label of order) ms[label] = (await workers[label].request({ op: 'sample', key }, SampleResultSchema)).ms;
        taken.get(key)!.push({ baseMs: ms.base!, candidateMs: ms.candidate! });
      }
    }
    for (const [key, pairs] of taken) {
      const list = state.samples.get(key) ?? [];
      list[round] = pairs;
      state.samples.set(key, list);
    }
  } finally {
    await pinning.set(pinning.all);
    for (const figure of prepared) {
      await Promise.all(labels.map((label) => workers[label].request({ op: 'release', key: figure.info.key }, z.unknown())));
    }
  }
}

function speedOutcome(figure: PlannedFigure, sparseRounds: readonly PairedSamples[][], rule: GateRule): SpeedOutcome {
  // A figure decided early has no pairs in later rounds.
  const rounds = sparseRounds.filter(Boolean);
  const interval = pairedRatioInterval(rounds, rule.level);
  const all = rounds.flat();
  const floor = floorOf(rule, figure.info.group, figure.software);
  return {
    kind: 'speed',
    info: figure.info,
    changed: figure.changed,
    floor,
    verdict: speedVerdict(interval, floor, rule),
    interval,
    baseMedianMs: all.length ? median(all.map((pair) => pair.baseMs)) : Number.NaN,
    candidateMedianMs: all.length ? median(all.map((pair) => pair.candidateMs)) : Number.NaN,
    samples: rounds,
  };
}
