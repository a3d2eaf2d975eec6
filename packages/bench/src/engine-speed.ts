/**
 * End-to-end speed of a loaded model on any engine that exposes logits: prefill tokens/s, decode tokens/s at
 * batch 1 and at a larger batch, and peak memory. Timing is tinybench's (median, spread, 95% margin of the mean);
 * each sample is one prefill call or one decode step, so tokens/s = rows / latency.
 */
import type { LoadedModel, LogitsModel } from '@quantbench/core';
import { Bench, type Statistics } from 'tinybench';
import { summarize } from './sample-stats.js';

export interface SpeedOptions {
  readonly prefillTokens: number;
  readonly decodeBatch: number;
  readonly prefillIterations?: number;
  readonly decodeIterations?: number;
  readonly warmupIterations?: number;
  /** Called before each scenario, for a progress display. */
  readonly onScenario?: (scenario: string) => void;
}

export interface SpeedFigure {
  readonly scenario: 'prefill' | 'decode';
  readonly rows: number;
  /** Tokens per second at the mean latency, and at the ends of its 95% interval. */
  readonly tokensPerSecond: number;
  readonly ciLow: number;
  readonly ciHigh: number;
  readonly medianMs: number;
  readonly samples: number;
  /** Tokens per second at the median latency, and at the ends of the median's order-statistic interval. */
  readonly medianTokensPerSecond: number;
  readonly medianLow: number;
  readonly medianHigh: number;
  /** Relative half-width of that interval: this figure's noise in this run. */
  readonly relSpread: number;
}

function figure(scenario: SpeedFigure['scenario'], rows: number, latency: Statistics): SpeedFigure {
  const perSecond = (ms: number): number => (rows * 1000) / ms;
  const robust = summarize(latency.samples ?? [latency.p50]);
  return {
    medianTokensPerSecond: perSecond(robust.median),
    medianLow: perSecond(robust.high),
    medianHigh: perSecond(robust.low),
    relSpread: robust.relSpread,
    scenario,
    rows,
    tokensPerSecond: perSecond(latency.mean),
    ciLow: perSecond(latency.mean + latency.moe),
    ciHigh: perSecond(Math.max(latency.mean - latency.moe, Number.EPSILON)),
    medianMs: latency.p50,
    samples: latency.samplesCount,
  };
}

/** Deterministic token ids spread over the ordinary vocabulary (the speed does not depend on them). */
export function speedTokens(count: number, salt: number): Int32Array {
  return Int32Array.from({ length: count }, (_, i) => 1000 + ((i * 7919 + salt * 104729) % 100_000));
}

/** Tokens each sequence holds before the timed decode steps. */
export const DECODE_CONTEXT = 16;

/** Fills the sequences a decode figure steps: the i-th of `slots` with DECODE_CONTEXT tokens salted i. */
export async function fillDecodeSequences(logits: LogitsModel, slots: readonly number[]): Promise<void> {
  for (const [i, slot] of slots.entries()) await logits.prefill(slot, speedTokens(DECODE_CONTEXT, i), 'none');
}

/** One decode step of `slots`: the i-th is fed token 1000 + i. */
export function decodeStep(slots: readonly number[]): { sequence: number; token: number }[] {
  return slots.map((sequence, i) => ({ sequence, token: 1000 + i }));
}

async function timeDecode(logits: LogitsModel, batch: number, iterations: number, warmupIterations: number): Promise<SpeedFigure> {
  const slots = Array.from({ length: batch }, (_, sequence) => sequence);
  await fillDecodeSequences(logits, slots);
  const step = decodeStep(slots);
  const bench = new Bench({ iterations, time: 0, warmupIterations, warmupTime: 0, retainSamples: true });
  bench.add(`decode-b${batch}`, async () => {
    await logits.decode(step);
  });
  await bench.run();
  for (let sequence = 0; sequence < batch; sequence++) logits.reset(sequence);
  return figure('decode', batch, latencyOf(bench));
}

function latencyOf(bench: Bench): Statistics {
  const result = bench.tasks[0]?.result;
  if (!result || result.state !== 'completed') {
    throw new Error(`benchmark task did not complete: ${result?.state === 'errored' ? String(result.error) : result?.state}`);
  }
  return result.latency;
}

export async function measureSpeed(model: LoadedModel, options: SpeedOptions): Promise<{ figures: SpeedFigure[]; peakBytes: number; weightBytes: number }> {
  const logits = model.logits;
  if (!logits) throw new Error('measureSpeed needs an engine that exposes logits');
  const prompt = speedTokens(options.prefillTokens, 0);
  options.onScenario?.(`prefill ${options.prefillTokens}`);
  const prefill = new Bench({ iterations: options.prefillIterations ?? 5, time: 0, warmupIterations: options.warmupIterations ?? 2, warmupTime: 0, retainSamples: true });
  prefill.add(`prefill-${options.prefillTokens}`, async () => {
    logits.reset(0);
    await logits.prefill(0, prompt, 'last');
  });
  await prefill.run();
  logits.reset(0);
  const figures = [figure('prefill', options.prefillTokens, latencyOf(prefill))];
  options.onScenario?.('decode b1');
  figures.push(await timeDecode(logits, 1, options.decodeIterations ?? 16, options.warmupIterations ?? 4));
  if (options.decodeBatch > 1) {
    options.onScenario?.(`decode b${options.decodeBatch}`);
    figures.push(await timeDecode(logits, options.decodeBatch, options.decodeIterations ?? 16, options.warmupIterations ?? 4));
  }
  const memory = model.memory();
  return { figures, peakBytes: memory.bytesPeak, weightBytes: memory.weightBytes };
}
