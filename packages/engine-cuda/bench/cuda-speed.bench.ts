/**
 * CUDA engine end-to-end speed at full scale, through the public Engine contract only: for each kernel mode
 * (bf16, w8a16, w8a8) on a synthetic Qwen3-4B checkpoint pair (`quantbench synth --preset qwen3-4b --out DIR`;
 * speed does not depend on weight values):
 *   - prefill tokens/s of one 2048-token prompt (median of repeats),
 *   - decode tokens/s at batch 1, 8 and 64: each sequence prefilled with a 512-token prompt, then 256 greedy steps,
 *   - peak VRAM as the engine reports it (memory()),
 * and each decode figure as a fraction of its roofline: the device's measured copy bandwidth (kernel_bench's JSON)
 * over the bytes one step must read — every weight once (memory().weightBytes) plus the KV cache of each sequence at
 * its mean context over the run — times the batch.
 * Writes reports/runs/<time>-<commit>-cuda-speed/ (results.json, results.csv, env.json) and, with --json, a flat
 * summary. Usage (repo root):
 *   node --conditions=@quantbench/source --import tsx packages/engine-cuda/bench/cuda-speed.bench.ts \
 *     --checkpoint DIR [--kernel-json kernel_bench.json] [--modes bf16,w8a16,w8a8] [--batches 1,8,64] [--quick] [--json OUT]
 * Exit codes: 0 done, 2 usage, 3 the CUDA engine is unavailable here (no GPU, no addon), 1 a failure.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRunReport, describeEnvironment, summarize } from '@quantbench/bench';
import {
  argmax,
  type DecodeInput,
  type Engine,
  EngineUnavailableError,
  KERNEL_MODES,
  type KernelMode,
  type LoadedModel,
  type LogitsModel,
  type ResultRow,
  weightFormatOf,
} from '@quantbench/core';
import { readQwen3Config } from '@quantbench/model';
import { createCudaEngine } from '../src/index.js';

const USAGE =
  'usage: cuda-speed.bench.ts --checkpoint DIR [--kernel-json FILE] [--modes bf16,w8a16,w8a8] [--batches 1,8,64] ' +
  '[--prefill 2048] [--prompt 512] [--new 256] [--quick] [--json FILE] [--reports DIR]';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    checkpoint: { type: 'string' },
    'kernel-json': { type: 'string' },
    modes: { type: 'string', default: KERNEL_MODES.join(',') },
    batches: { type: 'string', default: '1,8,64' },
    prefill: { type: 'string', default: '2048' },
    prompt: { type: 'string', default: '512' },
    new: { type: 'string', default: '256' },
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    reports: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

function fail(message: string, code: number): never {
  console.error(`cuda-speed: ${message}`);
  process.exit(code);
}

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!values.checkpoint) fail(`--checkpoint is required\n${USAGE}`, 2);
const checkpoint = resolve(values.checkpoint);
const modes = values.modes.split(',').map((mode) => mode.trim()) as KernelMode[];
for (const mode of modes) if (!KERNEL_MODES.includes(mode)) fail(`unknown kernel mode '${mode}' (expected ${KERNEL_MODES.join(', ')})`, 2);
const positiveInts = (text: string, option: string): number[] =>
  text.split(',').map((part) => {
    const value = Number.parseInt(part, 10);
    if (!Number.isInteger(value) || value <= 0) fail(`--${option}: expected positive integers, got '${text}'`, 2);
    return value;
  });
const batches = positiveInts(values.batches, 'batches');
const [prefillTokens = 2048] = positiveInts(values.prefill, 'prefill');
const [promptTokens = 512] = positiveInts(values.prompt, 'prompt');
const [newTokens = 256] = positiveInts(values.quick ? '32' : values.new, 'new');
const prefillRepeats = values.quick ? 2 : 5;
const maxBatch = Math.max(...batches);
const maxContext = Math.max(prefillTokens, promptTokens + newTokens + 1);

// ---- the model's shapes (for KV bytes) and the measured copy bandwidth ------------------------------------------

const bf16Dir = join(checkpoint, 'bf16');
if (!existsSync(join(bf16Dir, 'config.json'))) {
  fail(`${join(bf16Dir, 'config.json')} not found: make the checkpoint with 'quantbench synth --preset qwen3-4b --out ${checkpoint}'`, 2);
}
const config = await readQwen3Config(bf16Dir);
/** The CUDA engine keeps K and V as float32 (kernels.h): bytes of cache one position holds over all layers. */
const kvBytesPerPosition = config.numLayers * 2 * config.numKvHeads * config.headDim * 4;

interface KernelBenchJson {
  copyGBps?: number;
  device?: { name?: string; driverVersion?: number; runtimeVersion?: number };
}
let kernelBench: KernelBenchJson = {};
if (values['kernel-json']) {
  try {
    kernelBench = JSON.parse(readFileSync(values['kernel-json'], 'utf8')) as KernelBenchJson;
  } catch (error) {
    console.error(`cuda-speed: cannot read ${values['kernel-json']} (${String(error)}); no roofline fractions`);
  }
}
const copyGBps = kernelBench.copyGBps && kernelBench.copyGBps > 0 ? kernelBench.copyGBps : null;

function nvidiaSmi(): Record<string, string> {
  try {
    const line = execFileSync('nvidia-smi', ['--query-gpu=name,driver_version,memory.total,clocks.max.sm', '--format=csv,noheader'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim().split('\n')[0] ?? '';
    const [name = '', driver = '', memory = '', smClock = ''] = line.split(',').map((part) => part.trim());
    return { name, driver, memory, smClock };
  } catch {
    return {};
  }
}

// ---- measurement -------------------------------------------------------------------------------------------------

/** Deterministic ordinary-vocabulary token ids (speed does not depend on them). */
function tokens(count: number, salt: number): Int32Array {
  return Int32Array.from({ length: count }, (_, i) => 1000 + ((i * 7919 + salt * 104_729) % 100_000));
}

/** One greedy step; on the device (decodeTopK, k = 1) where the engine has it, so only one pair per row comes back. */
async function step(logits: LogitsModel, inputs: readonly DecodeInput[]): Promise<number[]> {
  if (logits.decodeTopK) return Array.from((await logits.decodeTopK(inputs, 1)).tokens);
  const rows = await logits.decode(inputs);
  return inputs.map((_, r) => argmax(rows, r * logits.vocabSize, logits.vocabSize));
}

interface PrefillFigure {
  tokensPerSecond: number;
  medianMs: number;
  samplesMs: number[];
}

async function timePrefill(logits: LogitsModel): Promise<PrefillFigure> {
  const prompt = tokens(prefillTokens, 0);
  const samplesMs: number[] = [];
  for (let i = 0; i < prefillRepeats + 1; i++) {
    logits.reset(0);
    const started = performance.now();
    await logits.prefill(0, prompt, 'last');
    const ms = performance.now() - started;
    if (i > 0) samplesMs.push(ms); // the first is warm-up
  }
  logits.reset(0);
  const medianMs = summarize(samplesMs).median;
  return { tokensPerSecond: (prefillTokens * 1000) / medianMs, medianMs, samplesMs };
}

interface DecodeFigure {
  batch: number;
  tokensPerSecond: number;
  stepMedianMs: number;
  totalMs: number;
  steps: number;
  meanContext: number;
  bytesPerStep: number;
  rooflineTokensPerSecond: number | null;
  rooflineFraction: number | null;
  onDevice: boolean;
}

async function timeDecode(model: LoadedModel, logits: LogitsModel, batch: number): Promise<DecodeFigure> {
  const prefillAll = async (): Promise<number[]> => {
    const next: number[] = [];
    for (let sequence = 0; sequence < batch; sequence++) {
      logits.reset(sequence);
      const last = await logits.prefill(sequence, tokens(promptTokens, sequence + 1), 'last');
      next.push(argmax(last, 0, logits.vocabSize));
    }
    return next;
  };
  // Warm-up: a few steps at this batch (first-use allocations, graph capture, autotuning), then start over.
  let next = await prefillAll();
  for (let i = 0; i < 4; i++) next = await step(logits, next.map((token, sequence) => ({ sequence, token })));
  next = await prefillAll();

  const stepMs: number[] = [];
  const started = performance.now();
  for (let i = 0; i < newTokens; i++) {
    const t0 = performance.now();
    next = await step(logits, next.map((token, sequence) => ({ sequence, token })));
    stepMs.push(performance.now() - t0);
  }
  const totalMs = performance.now() - started;
  for (let sequence = 0; sequence < batch; sequence++) logits.reset(sequence);

  const meanContext = promptTokens + (newTokens + 1) / 2;
  const weightBytes = model.memory().weightBytes;
  const bytesPerStep = weightBytes + batch * meanContext * kvBytesPerPosition;
  const rooflineTokensPerSecond = copyGBps ? (batch * copyGBps * 1e9) / bytesPerStep : null;
  const tokensPerSecond = (batch * newTokens * 1000) / totalMs;
  return {
    batch,
    tokensPerSecond,
    stepMedianMs: summarize(stepMs).median,
    totalMs,
    steps: newTokens,
    meanContext,
    bytesPerStep,
    rooflineTokensPerSecond,
    rooflineFraction: rooflineTokensPerSecond ? tokensPerSecond / rooflineTokensPerSecond : null,
    onDevice: logits.decodeTopK !== undefined,
  };
}

// ---- run -----------------------------------------------------------------------------------------------------------

let engine: Engine;
try {
  engine = await createCudaEngine();
} catch (error) {
  // No GPU, no driver or no built addon: a clear exit, not a stack trace.
  const reason = error instanceof EngineUnavailableError ? error.reason : error instanceof Error ? error.message : String(error);
  fail(`the CUDA engine is unavailable here: ${reason}`, 3);
}
const capabilities = await engine.capabilities();
const smi = nvidiaSmi();
const environment = describeEnvironment({
  engine: 'cuda',
  gpu: capabilities.device,
  nvidiaSmi: smi,
  cudaDriverVersion: kernelBench.device?.driverVersion ?? null,
  cudaRuntimeVersion: kernelBench.device?.runtimeVersion ?? null,
  copyGBps,
  checkpoint,
  prefillTokens,
  promptTokens,
  newTokens,
  batches,
  kvBytesPerPosition,
});
// The GPU machine has no .git: run.sh passes the commit packed with .device (QUANTBENCH_COMMIT).
const commit = environment.commit === 'unknown' && process.env.QUANTBENCH_COMMIT ? process.env.QUANTBENCH_COMMIT : environment.commit;
const report = await createRunReport({
  reportsDir: values.reports ? resolve(values.reports) : fileURLToPath(new URL('../../../reports', import.meta.url)),
  name: 'cuda-speed',
  environment: { ...environment, commit },
});
console.log(`device: ${capabilities.device}${smi.driver ? `, driver ${smi.driver}` : ''}; copy ${copyGBps ? `${copyGBps.toFixed(0)} GB/s` : 'unknown'}`);
console.log(`checkpoint ${checkpoint}; maxContext ${maxContext}, maxBatch ${maxBatch}; KV ${(kvBytesPerPosition / 1024).toFixed(0)} KiB/position\n`);

interface ModeSummary {
  kernel: KernelMode;
  prefill?: PrefillFigure;
  decode: DecodeFigure[];
  peakBytes?: number;
  weightBytes?: number;
  kvCacheBytes?: number;
  memorySource?: string;
  loadMs?: number;
  error?: string;
}
const summaries: ModeSummary[] = [];
const lines: string[] = [];
let failures = 0;

for (const kernel of modes) {
  const format = weightFormatOf(kernel);
  const summary: ModeSummary = { kernel, decode: [] };
  summaries.push(summary);
  const base = { runId: report.runId, commit, engine: 'cuda', device: capabilities.device, format, kernel, thinking: 'n/a', seed: null } as const;
  const rows: ResultRow[] = [];
  let model: LoadedModel | undefined;
  try {
    const loadStarted = performance.now();
    model = await engine.load({ modelDir: join(checkpoint, format), kernel, maxContext, maxBatch });
    summary.loadMs = performance.now() - loadStarted;
    const logits = model.logits;
    if (!logits) throw new Error('the CUDA engine did not expose logits');

    const prefill = await timePrefill(logits);
    summary.prefill = prefill;
    rows.push({ ...base, task: `prefill-${prefillTokens}`, metric: 'tokens_per_s', value: prefill.tokensPerSecond, unit: 'tokens/s', n: prefill.samplesMs.length, ciLow: null, ciHigh: null });
    rows.push({ ...base, task: `prefill-${prefillTokens}`, metric: 'median_ms', value: prefill.medianMs, unit: 'ms', n: prefill.samplesMs.length, ciLow: null, ciHigh: null });
    lines.push(`${kernel.padEnd(6)} prefill ${String(prefillTokens).padEnd(6)} ${prefill.tokensPerSecond.toFixed(0).padStart(10)} tokens/s  (median ${prefill.medianMs.toFixed(1)} ms)`);
    console.log(lines.at(-1));

    for (const batch of batches) {
      const figure = await timeDecode(model, logits, batch);
      summary.decode.push(figure);
      const task = `decode-b${batch}-p${promptTokens}-n${newTokens}`;
      rows.push({ ...base, task, metric: 'tokens_per_s', value: figure.tokensPerSecond, unit: 'tokens/s', n: figure.steps * batch, ciLow: null, ciHigh: null });
      rows.push({ ...base, task, metric: 'step_median_ms', value: figure.stepMedianMs, unit: 'ms', n: figure.steps, ciLow: null, ciHigh: null });
      if (figure.rooflineFraction !== null && figure.rooflineTokensPerSecond !== null) {
        rows.push({ ...base, task, metric: 'roofline_tokens_per_s', value: figure.rooflineTokensPerSecond, unit: 'tokens/s', n: 1, ciLow: null, ciHigh: null });
        rows.push({ ...base, task, metric: 'fraction_of_roofline', value: figure.rooflineFraction, unit: 'ratio', n: figure.steps, ciLow: null, ciHigh: null });
      }
      const roofline = figure.rooflineFraction !== null ? `${(100 * figure.rooflineFraction).toFixed(1)}% of roofline ${figure.rooflineTokensPerSecond!.toFixed(0)}` : 'no roofline';
      lines.push(`${kernel.padEnd(6)} decode  b${String(batch).padEnd(5)} ${figure.tokensPerSecond.toFixed(1).padStart(10)} tokens/s  step ${figure.stepMedianMs.toFixed(2)} ms, ${roofline}${figure.onDevice ? '' : ' (host argmax)'}`);
      console.log(lines.at(-1));
    }
    const memory = model.memory();
    summary.peakBytes = memory.bytesPeak;
    summary.weightBytes = memory.weightBytes;
    summary.kvCacheBytes = memory.kvCacheBytes;
    summary.memorySource = memory.source;
    rows.push({ ...base, task: 'memory', metric: 'peak_bytes', value: memory.bytesPeak, unit: 'bytes', n: 1, ciLow: null, ciHigh: null });
    rows.push({ ...base, task: 'memory', metric: 'weight_bytes', value: memory.weightBytes, unit: 'bytes', n: 1, ciLow: null, ciHigh: null });
    rows.push({ ...base, task: 'memory', metric: 'kv_cache_bytes', value: memory.kvCacheBytes, unit: 'bytes', n: 1, ciLow: null, ciHigh: null });
    lines.push(`${kernel.padEnd(6)} memory  peak ${(memory.bytesPeak / 2 ** 30).toFixed(2)} GiB (weights ${(memory.weightBytes / 2 ** 30).toFixed(2)} GiB, KV ${(memory.kvCacheBytes / 2 ** 30).toFixed(2)} GiB; ${memory.source}), load ${(summary.loadMs / 1000).toFixed(1)} s`);
    console.log(lines.at(-1));
  } catch (error) {
    failures++;
    summary.error = error instanceof Error ? error.message : String(error);
    lines.push(`${kernel.padEnd(6)} FAILED: ${summary.error}`);
    console.error(lines.at(-1));
    if (process.env.QUANTBENCH_DEBUG) console.error(error);
  } finally {
    if (rows.length) await report.add(rows);
    if (model) await model.dispose();
  }
}
await engine.dispose();

if (values.json) {
  const json = { runId: report.runId, commit, device: capabilities.device, nvidiaSmi: smi, copyGBps, kvBytesPerPosition, prefillTokens, promptTokens, newTokens, modes: summaries };
  await writeFile(values.json, `${JSON.stringify(json, null, 2)}\n`);
}
console.log(`\n${lines.join('\n')}\nreport: ${report.dir}`);
process.exitCode = failures ? 1 : 0;
