/**
 * FP8-vs-BF16 (or engine-vs-engine) agreement at the logit level, with the statistics llama.cpp's
 * `--kl-divergence` made standard. Both models read the same token sequences (teacher forcing); at every
 * position the reference's and the test's next-token distributions are compared, and Δp and perplexity use the
 * actual next token of the text.
 */
import { createLogitComparison, type LogitComparisonSummary, type LogitsModel } from '@quantbench/core';

export async function compareLogits(
  reference: LogitsModel,
  test: LogitsModel,
  sequences: readonly Int32Array[],
): Promise<LogitComparisonSummary> {
  if (reference.vocabSize !== test.vocabSize) {
    throw new Error(`the models' vocabularies differ: ${reference.vocabSize} and ${test.vocabSize} tokens`);
  }
  const comparison = createLogitComparison(reference.vocabSize);
  for (const [index, tokens] of sequences.entries()) {
    if (tokens.length < 2) throw new Error(`prompt ${index}: needs at least 2 tokens to compare a prediction`);
    const a = await reference.prefill(0, tokens, 'all');
    reference.reset(0);
    const b = await test.prefill(0, tokens, 'all');
    test.reset(0);
    // Position i predicts token i + 1; the last position has no next token in the text.
    comparison.addRows(a.subarray(0, (tokens.length - 1) * reference.vocabSize), b.subarray(0, (tokens.length - 1) * test.vocabSize), tokens.subarray(1));
  }
  return comparison.summary();
}

/** The summary as the aligned text block the CLI prints. */
export function formatComparison(summary: LogitComparisonSummary): string {
  const pct = (x: number): string => `${(100 * x).toFixed(3)}%`;
  const lines = [
    `positions            ${summary.positions}`,
    `mean KL divergence   ${summary.kl.mean.toExponential(4)} ± ${summary.kl.stdErr.toExponential(2)}`,
    `median KL            ${summary.kl.median.toExponential(4)}`,
    `99th pct KL          ${summary.kl.p99.toExponential(4)}`,
    `max KL               ${summary.kl.max.toExponential(4)}`,
    `same top token       ${pct(summary.top1Agreement.rate)} [${pct(summary.top1Agreement.ciLow)}, ${pct(summary.top1Agreement.ciHigh)}] (95% Wilson)`,
  ];
  if (summary.deltaP) {
    lines.push(
      `mean Δp              ${pct(summary.deltaP.mean)} ± ${pct(summary.deltaP.stdErr)}`,
      `RMS Δp               ${pct(summary.deltaP.rms)}`,
    );
  }
  if (summary.perplexity) {
    lines.push(`perplexity           reference ${summary.perplexity.reference.toFixed(4)}, test ${summary.perplexity.test.toFixed(4)}`);
  }
  lines.push(
    `max |Δlogit|         ${summary.maxAbsLogitError.toExponential(4)}`,
    `RMS Δlogit           ${summary.rmsLogitError.toExponential(4)}`,
    `relative L2          ${summary.relL2.toExponential(4)}`,
  );
  return lines.join('\n');
}

/** The logits of every position of each sequence (`[tokens, vocab]` per sequence), one prefill each. */
export async function captureLogits(model: LogitsModel, sequences: readonly Int32Array[], onSequence?: (index: number) => void): Promise<Float32Array[]> {
  const captured: Float32Array[] = [];
  for (const [index, tokens] of sequences.entries()) {
    onSequence?.(index);
    captured.push(await model.prefill(0, tokens, 'all'));
    model.reset(0);
  }
  return captured;
}

/**
 * compareLogits over logits captured earlier (by `captureLogits`), so one reference serves several comparisons.
 * `reference[i]` may cover a longer text than `sequences[i]` (a causal model's logits of a prefix are the prefix
 * of its logits): only the first `sequences[i].length - 1` positions are compared.
 */
export function compareCapturedLogits(
  vocabSize: number,
  reference: readonly Float32Array[],
  test: readonly Float32Array[],
  sequences: readonly Int32Array[],
): LogitComparisonSummary {
  const comparison = createLogitComparison(vocabSize);
  for (const [index, tokens] of sequences.entries()) {
    const a = reference[index];
    const b = test[index];
    const rows = tokens.length - 1;
    if (!a || !b || a.length < rows * vocabSize || b.length < rows * vocabSize) throw new Error(`prompt ${index}: captured logits cover fewer than ${rows} positions`);
    if (rows < 1) throw new Error(`prompt ${index}: needs at least 2 tokens to compare a prediction`);
    comparison.addRows(a.subarray(0, rows * vocabSize), b.subarray(0, rows * vocabSize), tokens.subarray(1));
  }
  return comparison.summary();
}
