/**
 * The bench matrix: every available engine × kernel mode (bf16, w8a16, w8a8), each cell measured for prefill and
 * decode speed (batch 1 and a larger batch), time to first token, time per output token and peak memory; kernel
 * microbenchmarks beside a bandwidth-ceiling probe; FP8-vs-BF16 logit statistics on every engine and parity of
 * every engine with the CPU engine; the thinking-mode comparison. Everything lands as tidy rows in one run report
 * (`reports/runs/<time>-<commit>-bench/`), with the kernel source hashes of every engine that ran in env.json.
 *
 * The engine registry is passed in (this package may not import the engines): the CLI passes
 * `@quantbench/engines`, tests pass what they need.
 */
import {
  type Engine,
  type EngineCapabilities,
  GREEDY,
  KERNEL_MODES,
  type KernelMode,
  type KernelSource,
  type LogitComparisonSummary,
  mean,
  type KernelSlowdown,
  type MicrobenchmarkRow,
  type ResultRow,
  runMicrobenchmarks,
  weightFormatOf,
} from '@quantbench/core';
import { ensureSyntheticCheckpoints, loadTokenizer } from '@quantbench/model';
import { captureLogits, compareCapturedLogits } from './compare.js';
import { measureSpeed } from './engine-speed.js';
import { libraryVersions, nvidiaGpus } from './environment.js';
import { readPromptFile } from './prompts.js';
import { createRunReport, describeEnvironment, type RunReport } from './report.js';
import { summarize } from './sample-stats.js';

export type BenchEngineStatus =
  | { readonly name: string; readonly available: true; readonly device: string }
  | { readonly name: string; readonly available: false; readonly reason: string };

export interface EngineRegistry {
  statuses(): Promise<readonly BenchEngineStatus[]>;
  load(name: string): Promise<Engine>;
}

export interface BenchModel {
  /** Names the model in task ids: the preset (`tiny`) or the repo's last path part. */
  readonly label: string;
  readonly bf16Dir: string;
  /** Absent: the FP8 modes are skipped, with `fp8Reason`. */
  readonly fp8Dir?: string;
  readonly fp8Reason?: string;
}

export type BenchSection = 'microbench' | 'speed' | 'accuracy' | 'thinking';

export interface BenchOptions {
  readonly registry: EngineRegistry;
  /** Engines to run (default: every registered one). */
  readonly engines?: readonly string[];
  /** Default: the synthetic `tiny` checkpoint pair, made and cached on first use. */
  readonly model?: BenchModel;
  readonly kernels?: readonly KernelMode[];
  readonly quick?: boolean;
  /** Timed repeats per figure, overriding the profile's. */
  readonly repeats?: number;
  readonly reportsDir: string;
  /** For library versions in env.json. */
  readonly repoRoot?: string;
  /** The fixed prompt set of the logit comparisons. */
  readonly promptsFile: string;
  /** Default: all. */
  readonly sections?: readonly BenchSection[];
  /** Run name, the last part of the run id (default `bench`). */
  readonly name?: string;
  /** Tests: only these microbenchmarks (substring match). */
  readonly microbenchOnly?: readonly string[];
  /** Tests only: kernel cases made slower (see KernelSlowdown). */
  readonly slowdowns?: readonly KernelSlowdown[];
  readonly onProgress?: (message: string) => void;
}

/** How big each measurement is for one engine: a software GPU adapter (~1 token/s) gets small scenarios. */
export interface CellProfile {
  readonly name: 'standard' | 'software';
  readonly prefillTokens: number;
  readonly decodeBatch: number;
  readonly prefillIterations: number;
  readonly decodeIterations: number;
  readonly warmupIterations: number;
  /** Prompts of the fixed set compared (undefined: all), each cut to `accuracyTokens` (undefined: whole). */
  readonly accuracyPrompts: number | undefined;
  readonly accuracyTokens: number | undefined;
  readonly thinkingPrompts: number;
  readonly thinkingMaxTokens: number;
  readonly microbenchRepeats: number;
}

export function profileFor(capabilities: Pick<EngineCapabilities, 'software' | 'maxBatch'>, quick: boolean, repeats?: number): CellProfile {
  const base: CellProfile = capabilities.software
    ? {
        name: 'software',
        prefillTokens: 16,
        decodeBatch: 2,
        prefillIterations: quick ? 2 : 3,
        decodeIterations: quick ? 2 : 3,
        warmupIterations: 1,
        accuracyPrompts: 2,
        accuracyTokens: 10,
        thinkingPrompts: 1,
        thinkingMaxTokens: 4,
        microbenchRepeats: quick ? 2 : 3,
      }
    : {
        name: 'standard',
        prefillTokens: 64,
        decodeBatch: 4,
        prefillIterations: quick ? 3 : 5,
        decodeIterations: quick ? 6 : 12,
        warmupIterations: 2,
        accuracyPrompts: undefined,
        accuracyTokens: undefined,
        thinkingPrompts: 2,
        thinkingMaxTokens: 8,
        microbenchRepeats: quick ? 3 : 5,
      };
  const decodeBatch = Math.max(1, Math.min(base.decodeBatch, capabilities.maxBatch));
  if (repeats === undefined) return { ...base, decodeBatch };
  return { ...base, decodeBatch, prefillIterations: repeats, decodeIterations: repeats, microbenchRepeats: repeats };
}

/** Fixed prompts of the thinking-mode comparison (synthetic weights make the answers meaningless, not the mechanics). */
export const THINKING_PROMPTS: readonly string[] = [
  'Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did she sell altogether?',
  'Which planet is known as the Red Planet?',
];

export interface BenchResult {
  readonly report: RunReport;
  readonly rows: readonly ResultRow[];
  readonly unavailable: readonly { name: string; reason: string }[];
  /** Cells not run, with the reason (`cpu w8a8: no FP8 checkpoint`). */
  readonly skipped: readonly string[];
  readonly elapsedMs: number;
}

const ALL_SECTIONS: readonly BenchSection[] = ['microbench', 'speed', 'accuracy', 'thinking'];

export async function runBench(options: BenchOptions): Promise<BenchResult> {
  const started = performance.now();
  const progress = options.onProgress ?? (() => {});
  const sections = new Set(options.sections ?? ALL_SECTIONS);
  const quick = options.quick ?? false;
  const model: BenchModel =
    options.model ??
    (await (async () => {
      progress('model: synthetic tiny checkpoint (made on first use, then cached)');
      const dirs = await ensureSyntheticCheckpoints({ preset: 'tiny', onProgress: progress });
      return { label: 'tiny', bf16Dir: dirs.bf16Dir, fp8Dir: dirs.fp8Dir };
    })());

  progress('engines: probing which can run here');
  const statuses = await options.registry.statuses();
  const wanted = options.engines ?? statuses.map((status) => status.name);
  for (const name of wanted) {
    if (!statuses.some((status) => status.name === name)) throw new Error(`unknown engine '${name}': expected one of ${statuses.map((s) => s.name).join(', ')}`);
  }
  // The CPU engine first: it is the parity reference.
  const selected = statuses.filter((status) => wanted.includes(status.name)).sort((a, b) => Number(b.name === 'cpu') - Number(a.name === 'cpu'));
  const unavailable = selected.filter((status) => !status.available).map((status) => ({ name: status.name, reason: (status as { reason: string }).reason }));
  const kernels = (options.kernels ?? KERNEL_MODES).filter((kernel) => KERNEL_MODES.includes(kernel));

  const environment = describeEnvironment();
  const kernelSources: Record<string, KernelSource[]> = {};
  const devices: Record<string, string> = {};
  const profiles: Record<string, CellProfile> = {};
  const envExtra: Record<string, unknown> = {
    bench: { model: model.label, bf16Dir: model.bf16Dir, fp8Dir: model.fp8Dir ?? null, quick, repeats: options.repeats ?? null, sections: [...sections], kernels },
    engines: selected,
    unavailable,
    devices,
    profiles,
    kernelSources,
    libraries: options.repoRoot ? await libraryVersions(options.repoRoot) : {},
    nvidiaGpus: nvidiaGpus() ?? null,
  };
  const report = await createRunReport({ reportsDir: options.reportsDir, name: options.name ?? 'bench', environment: { ...environment, extra: envExtra } });
  const commit = environment.commit;
  const rows: ResultRow[] = [];
  const add = async (newRows: readonly ResultRow[]): Promise<void> => {
    rows.push(...newRows);
    await report.add(newRows);
  };
  const skipped: string[] = [];

  const tokenizer = await loadTokenizer(model.bf16Dir);
  const prompts = await readPromptFile(options.promptsFile);
  const fullSequences = prompts.map((text) => Int32Array.from(tokenizer.encode(text)));
  const endOfThinking = tokenizer.tokenToId('</think>');
  /** CPU logits per kernel mode, kept for the parity comparisons of the engines after it. */
  const cpuLogits = new Map<KernelMode, Float32Array[]>();

  for (const status of selected) {
    if (!status.available) continue;
    const name = status.name;
    const probe = await options.registry.load(name);
    const capabilities = await probe.capabilities();
    const profile = profileFor(capabilities, quick, options.repeats);
    devices[name] = capabilities.device;
    profiles[name] = profile;
    kernelSources[name] = (await probe.kernelSources?.()) ?? [];
    const base = { runId: report.runId, commit, engine: name, device: capabilities.device, seed: null } as const;

    if (sections.has('microbench')) {
      if (probe.microbenchmarks) {
        progress(`${name}: kernel microbenchmarks`);
        const suite = await probe.microbenchmarks({ quick, ...(options.slowdowns ? { slowdowns: options.slowdowns } : {}) });
        try {
          const micro = await runMicrobenchmarks(suite, {
            repeats: profile.microbenchRepeats,
            ...(options.microbenchOnly ? { only: options.microbenchOnly } : {}),
            onProgress: (message) => progress(`${name} ${message}`),
          });
          await add(microbenchRows(micro, { ...base, thinking: 'n/a' }));
        } finally {
          await suite.dispose();
        }
      } else {
        skipped.push(`${name} kernel microbenchmarks: the engine has none`);
      }
    }
    await probe.dispose();
    await report.updateEnvironment({ devices, profiles, kernelSources });

    const accuracySequences = fullSequences
      .slice(0, profile.accuracyPrompts ?? fullSequences.length)
      .map((sequence) => (profile.accuracyTokens ? sequence.subarray(0, profile.accuracyTokens) : sequence));
    const accuracyTask = `${model.label}/${accuracySequences.length}x${profile.accuracyTokens ?? 'all'}`;
    let bf16Logits: Float32Array[] | undefined;

    for (const kernel of kernels) {
      const cell = `${name} ${kernel}`;
      if (!capabilities.kernelModes.includes(kernel)) {
        skipped.push(`${cell}: the engine does not run this kernel mode`);
        continue;
      }
      const format = weightFormatOf(kernel);
      const modelDir = format === 'bf16' ? model.bf16Dir : model.fp8Dir;
      if (!modelDir) {
        skipped.push(`${cell}: ${model.fp8Reason ?? 'no FP8 checkpoint'}`);
        continue;
      }
      // A fresh engine per cell: a GPU engine's memory peak is per device.
      const engine = await options.registry.load(name);
      const cellBase = { ...base, format, kernel } as const;
      try {
        progress(`${cell}: loading ${modelDir}`);
        const loaded = await engine.load({ modelDir, kernel, maxBatch: profile.decodeBatch, maxContext: 512 });
        try {
          if (sections.has('speed')) {
            const speed = await measureSpeed(loaded, {
              prefillTokens: profile.prefillTokens,
              decodeBatch: profile.decodeBatch,
              prefillIterations: profile.prefillIterations,
              decodeIterations: profile.decodeIterations,
              warmupIterations: profile.warmupIterations,
              onScenario: (scenario) => progress(`${cell}: ${scenario}`),
            });
            await add(
              speed.figures.map((figure) => ({
                ...cellBase,
                thinking: 'n/a',
                task: `${model.label}/${figure.scenario === 'prefill' ? `prefill-${figure.rows}` : `decode-b${figure.rows}`}`,
                metric: `${figure.scenario}_tokens_per_s`,
                value: figure.medianTokensPerSecond,
                unit: 'tokens/s',
                n: figure.samples,
                ciLow: figure.medianLow,
                ciHigh: figure.medianHigh,
              })),
            );
          }
          if (sections.has('accuracy') && loaded.logits) {
            progress(`${cell}: logits of ${accuracySequences.length} fixed prompts`);
            const captured = await captureLogits(loaded.logits, accuracySequences, (i) => progress(`${cell}: logits, prompt ${i + 1}/${accuracySequences.length}`));
            const vocab = loaded.logits.vocabSize;
            if (kernel === 'bf16') bf16Logits = captured;
            else if (bf16Logits) {
              const summary = compareCapturedLogits(vocab, bf16Logits, captured, accuracySequences);
              await add(accuracyRows(summary, { ...cellBase, thinking: 'n/a', task: `accuracy-vs-bf16/${accuracyTask}` }));
            }
            if (name === 'cpu') cpuLogits.set(kernel, captured);
            else {
              const reference = cpuLogits.get(kernel);
              if (reference) {
                const summary = compareCapturedLogits(vocab, reference, captured, accuracySequences);
                await add(accuracyRows(summary, { ...cellBase, thinking: 'n/a', task: `parity-vs-cpu/${accuracyTask}` }));
              }
            }
          }
          if (sections.has('thinking')) {
            await add(await thinkingRows(loaded, profile, endOfThinking, (thinking) => progress(`${cell}: generate, thinking ${thinking}`), { ...cellBase, task: `thinking/${model.label}` }));
          }
          const memory = loaded.memory();
          const memoryBase = { ...cellBase, thinking: 'n/a', task: `${model.label}/memory`, n: 1, ciLow: null, ciHigh: null, unit: 'bytes' } as const;
          await add([
            { ...memoryBase, metric: 'peak_bytes', value: memory.bytesPeak },
            { ...memoryBase, metric: 'weight_bytes', value: memory.weightBytes },
            { ...memoryBase, metric: 'kv_cache_bytes', value: memory.kvCacheBytes },
          ]);
        } finally {
          await loaded.dispose();
        }
      } finally {
        await engine.dispose();
      }
    }
  }

  return { report, rows, unavailable, skipped, elapsedMs: performance.now() - started };
}

type RowBase = Omit<ResultRow, 'format' | 'kernel' | 'task' | 'metric' | 'value' | 'unit' | 'n' | 'ciLow' | 'ciHigh'>;

/** An engine's microbenchmark samples as result rows: median time, GB/s, FLOP/s and the fraction of the ceiling. */
export function microbenchRows(micro: readonly MicrobenchmarkRow[], base: RowBase): ResultRow[] {
  const reference = micro.find((row) => row.reference);
  const ceilingGBps = reference ? reference.bytes / (summarize(reference.samplesMs).median / 1000) / 1e9 : undefined;
  const rows: ResultRow[] = [];
  for (const row of micro) {
    const time = summarize(row.samplesMs);
    const common = { ...base, format: weightFormatOf(row.kernel), kernel: row.kernel, task: `kernel/${row.name}`, n: time.n } as const;
    const gbps = row.bytes / (time.median / 1000) / 1e9;
    rows.push({ ...common, metric: 'median_ms', value: time.median, unit: 'ms', ciLow: time.low, ciHigh: time.high });
    if (row.reference) {
      rows.push({ ...common, metric: 'ceiling_gb_per_s', value: gbps, unit: 'GB/s', ciLow: null, ciHigh: null });
      continue;
    }
    rows.push({ ...common, metric: 'gb_per_s', value: gbps, unit: 'GB/s', ciLow: null, ciHigh: null });
    if (row.flops > 0) rows.push({ ...common, metric: 'flop_per_s', value: row.flops / (time.median / 1000), unit: 'FLOP/s', ciLow: null, ciHigh: null });
    const paired = reference && row.referenceSamplesMs?.length === row.samplesMs.length ? row.referenceSamplesMs : undefined;
    if (paired) {
      // Each sample against the probe timed right after it, so load that changed during the run cancels.
      const fraction = summarize(row.samplesMs.map((ms, i) => (row.bytes / ms) / (reference!.bytes / paired[i]!)));
      rows.push({ ...common, metric: 'fraction_of_ceiling', value: fraction.median, unit: 'ratio', ciLow: fraction.low, ciHigh: fraction.high });
    } else if (ceilingGBps) {
      rows.push({ ...common, metric: 'fraction_of_ceiling', value: gbps / ceilingGBps, unit: 'ratio', ciLow: null, ciHigh: null });
    }
  }
  return rows;
}

function accuracyRows(summary: LogitComparisonSummary, base: Omit<ResultRow, 'metric' | 'value' | 'unit' | 'n' | 'ciLow' | 'ciHigh'>): ResultRow[] {
  const n = summary.positions;
  const plain = (metric: string, value: number, unit: string): ResultRow => ({ ...base, metric, value, unit, n, ciLow: null, ciHigh: null });
  const kl = summary.kl;
  const se = Number.isFinite(kl.stdErr) ? kl.stdErr : 0;
  const rows: ResultRow[] = [
    { ...base, metric: 'kl_divergence_mean', value: kl.mean, unit: 'nats', n, ciLow: kl.mean - 1.96 * se, ciHigh: kl.mean + 1.96 * se },
    plain('kl_divergence_median', kl.median, 'nats'),
    plain('kl_divergence_p99', kl.p99, 'nats'),
    plain('kl_divergence_max', kl.max, 'nats'),
    { ...base, metric: 'top1_agreement', value: summary.top1Agreement.rate, unit: 'ratio', n, ciLow: summary.top1Agreement.ciLow, ciHigh: summary.top1Agreement.ciHigh },
    plain('logits_relative_l2', summary.relL2, 'ratio'),
    plain('max_abs_logit_error', summary.maxAbsLogitError, 'logit'),
  ];
  if (summary.deltaP) {
    rows.push(plain('delta_p_mean', summary.deltaP.mean, 'probability'), plain('delta_p_rms', summary.deltaP.rms, 'probability'));
  }
  return rows;
}

async function thinkingRows(
  loaded: Awaited<ReturnType<Engine['load']>>,
  profile: CellProfile,
  endOfThinking: number | undefined,
  onMode: (thinking: 'on' | 'off') => void,
  base: Omit<ResultRow, 'thinking' | 'metric' | 'value' | 'unit' | 'n' | 'ciLow' | 'ciHigh' | 'seed'>,
): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  const prompts = THINKING_PROMPTS.slice(0, profile.thinkingPrompts);
  for (const thinking of ['off', 'on'] as const) {
    onMode(thinking);
    const tokens: number[] = [];
    const thinkingTokens: number[] = [];
    const toAnswer: number[] = [];
    const ttft: number[] = [];
    const tpot: number[] = [];
    const response: number[] = [];
    for (const prompt of prompts) {
      const times: number[] = [];
      const [result] = await loaded.generate(
        [{ messages: [{ role: 'user', content: prompt }], thinking: thinking === 'on', sampling: GREEDY, maxNewTokens: profile.thinkingMaxTokens, seed: 0 }],
        { onToken: (event) => times.push(event.atMs) },
      );
      if (!result) continue;
      // With thinking off the template has already closed the think block: the answer is the first token on.
      // With it on, the answer starts after `</think>`; a model that never closes it spends every token thinking.
      const close = thinking === 'on' && endOfThinking !== undefined ? result.tokenIds.indexOf(endOfThinking) : -1;
      tokens.push(result.tokenIds.length);
      thinkingTokens.push(thinking === 'off' ? 0 : close >= 0 ? close + 1 : result.tokenIds.length);
      const answerAt = thinking === 'off' ? times[0] : close >= 0 ? times[close + 1] : undefined;
      if (answerAt !== undefined) toAnswer.push(answerAt);
      ttft.push(result.ttftMs);
      response.push(result.totalMs);
      if (result.tokenIds.length > 1) tpot.push((result.totalMs - result.ttftMs) / (result.tokenIds.length - 1));
    }
    const row = (metric: string, values: number[], unit: string): ResultRow[] =>
      values.length === 0 ? [] : [{ ...base, thinking, metric, value: mean(values), unit, n: values.length, ciLow: null, ciHigh: null, seed: 0 }];
    rows.push(
      ...row('tokens_generated', tokens, 'tokens'),
      ...row('thinking_tokens', thinkingTokens, 'tokens'),
      ...row('answered_within_budget', prompts.map((_, i) => (i < toAnswer.length ? 1 : 0)), 'ratio'),
      ...row('time_to_answer_ms', toAnswer, 'ms'),
      ...row('ttft_ms', ttft, 'ms'),
      ...row('tpot_ms', tpot, 'ms'),
      ...row('response_ms', response, 'ms'),
    );
  }
  return rows;
}
