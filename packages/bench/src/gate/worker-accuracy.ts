/**
 * The gate's accuracy figures inside one source tree: on the fixed prompts, every FP8 mode of an engine against
 * its BF16 (mean KL, top-1 agreement) and every engine against the CPU engine in the same mode. They are exact on
 * fixed inputs, so the gate compares them once per tree, not by sampling.
 */
import { type KernelMode, type LogitComparisonSummary, weightFormatOf } from '@quantbench/core';
import { loadTokenizer } from '@quantbench/model';
import { captureLogits, compareCapturedLogits } from '../compare.js';
import { readPromptFile } from '../prompts.js';
import { profileFor } from '../run-bench.js';
import type { AccuracyFigure } from './protocol.js';
import type { WorkerFigures } from './worker-figures.js';

export interface AccuracyInputs {
  readonly bf16Dir: string;
  readonly fp8Dir?: string;
  readonly promptsFile: string;
}

function figuresOf(engine: string, kernel: KernelMode, comparison: AccuracyFigure['comparison'], summary: LogitComparisonSummary): AccuracyFigure[] {
  const base = { engine, kernel, comparison, positions: summary.positions };
  return [
    { ...base, key: `accuracy|${engine}|${kernel}|${comparison}|kl_divergence_mean`, metric: 'kl_divergence_mean', value: summary.kl.mean },
    { ...base, key: `accuracy|${engine}|${kernel}|${comparison}|top1_agreement`, metric: 'top1_agreement', value: summary.top1Agreement.rate },
  ];
}

export async function accuracyFigures(figures: WorkerFigures, engines: readonly string[], inputs: AccuracyInputs): Promise<AccuracyFigure[]> {
  const tokenizer = await loadTokenizer(inputs.bf16Dir);
  const prompts = (await readPromptFile(inputs.promptsFile)).map((text) => Int32Array.from(tokenizer.encode(text)));
  const out: AccuracyFigure[] = [];
  for (const name of engines) {
    const state = await figures.engineState(name);
    const profile = profileFor(state.capabilities, false);
    const sequences = prompts.slice(0, profile.accuracyPrompts ?? prompts.length).map((tokens) => (profile.accuracyTokens ? tokens.subarray(0, profile.accuracyTokens) : tokens));
    const kernels = state.capabilities.kernelModes.filter((kernel) => weightFormatOf(kernel) === 'bf16' || inputs.fp8Dir);
    const captured = new Map<KernelMode, Float32Array[]>();
    let vocab = 0;
    for (const kernel of kernels) {
      const logits = (await figures.models.use(state, kernel)).logits;
      try {
        if (!logits) continue;
        vocab = logits.vocabSize;
        captured.set(kernel, await captureLogits(logits, sequences));
      } finally {
        await figures.models.release(state, kernel);
      }
      const bf16 = captured.get('bf16');
      if (kernel !== 'bf16' && bf16) out.push(...figuresOf(name, kernel, 'vs-bf16', compareCapturedLogits(vocab, bf16, captured.get(kernel)!, sequences)));
    }
    if (name === 'cpu') continue;
    const cpu = await figures.engineState('cpu');
    for (const [kernel, logits] of captured) {
      const reference = (await figures.models.use(cpu, kernel)).logits;
      try {
        if (reference) out.push(...figuresOf(name, kernel, 'vs-cpu', compareCapturedLogits(vocab, await captureLogits(reference, sequences), logits, sequences)));
      } finally {
        await figures.models.release(cpu, kernel);
      }
    }
  }
  return out;
}
