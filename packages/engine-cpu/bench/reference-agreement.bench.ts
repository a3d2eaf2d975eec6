/**
 * The CPU engine against the float64 reference (test/reference/qwen3-f64.ts) on every prompt of the fixed logit
 * prompt set, per kernel mode: how far a correct float32 implementation lands from exact arithmetic. For w8a8 this
 * is the floor under any cross-engine parity bar: an activation within float32 noise of an e4m3 rounding midpoint
 * rounds either way, and the random tiny network amplifies the flipped code. Usage (repo root; minutes on 2 cores):
 *   pnpm --filter @quantbench/engine-cpu bench:reference
 */
import { fileURLToPath } from 'node:url';
import { createRunReport, describeEnvironment, readPromptFile } from '@quantbench/bench';
import { type KernelMode, type ResultRow, relativeL2, weightFormatOf } from '@quantbench/core';
import { ensureSyntheticCheckpoints, loadTokenizer, openCheckpoint } from '@quantbench/model';
import { createCpuEngine } from '../src/index.js';
import { referenceLogits } from '../test/reference/qwen3-f64.js';

const dirs = await ensureSyntheticCheckpoints({ preset: 'tiny', onProgress: (message) => console.error(message) });
const prompts = await readPromptFile(fileURLToPath(new URL('../../../datasets/fixtures/logit-prompts.jsonl', import.meta.url)));
const tokenizer = await loadTokenizer(dirs.bf16Dir);
const engine = await createCpuEngine();
const { device } = await engine.capabilities();
const report = await createRunReport({
  reportsDir: fileURLToPath(new URL('../../../reports', import.meta.url)),
  name: 'cpu-reference-agreement',
  environment: describeEnvironment({ engine: 'cpu', device, reference: 'float64 (engine-cpu/test/reference/qwen3-f64.ts)' }),
});
const commit = describeEnvironment().commit;

for (const kernel of ['bf16', 'w8a16', 'w8a8'] as KernelMode[]) {
  const format = weightFormatOf(kernel);
  const modelDir = format === 'bf16' ? dirs.bf16Dir : dirs.fp8Dir;
  const checkpoint = await openCheckpoint(modelDir);
  const model = await engine.load({ modelDir, kernel, maxBatch: 1, maxContext: 256 });
  const errors: number[] = [];
  for (const [index, text] of prompts.entries()) {
    const tokens = tokenizer.encode(text);
    const expected = await referenceLogits(checkpoint, kernel, tokens);
    const actual = await model.logits!.prefill(0, Int32Array.from(tokens), 'all');
    model.logits!.reset(0);
    errors.push(relativeL2(actual, expected));
    const row: ResultRow = {
      runId: report.runId, commit, engine: 'cpu', device, format, kernel, thinking: 'n/a', task: `reference-agreement/tiny/prompt-${index}`,
      metric: 'logits_relative_l2', value: errors.at(-1)!, unit: 'ratio', n: tokens.length, ciLow: null, ciHigh: null, seed: 1,
    };
    await report.add([row]);
  }
  await model.dispose();
  await checkpoint.close();
  console.log(`cpu ${kernel.padEnd(6)} vs float64, per prompt: ${errors.map((error) => error.toExponential(1)).join('  ')}`);
}
await engine.dispose();
console.log(`report: ${report.dir}`);
