/**
 * Engine parity figures on the tiny preset, written as a run report: for every kernel mode, each available
 * engine against the reference CPU engine over the fixed prompt set (relative L2 of all logits, the
 * `compare` statistics) and the greedy-generation agreement. Usage (repo root):
 *   pnpm --filter @quantbench/engines bench:parity [--tokens 64]
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compareLogits, createRunReport, describeEnvironment, readPromptFile } from '@quantbench/bench';
import { GREEDY, type ResultRow, weightFormatOf } from '@quantbench/core';
import { ensureSyntheticCheckpoints, loadTokenizer } from '@quantbench/model';
import { engineStatuses, loadEngine } from '../src/index.js';

const { values } = parseArgs({ args: process.argv.slice(2).filter((arg) => arg !== '--'), options: { tokens: { type: 'string', default: '64' } } });
const greedyTokens = Number(values.tokens);
const dirs = await ensureSyntheticCheckpoints({ preset: 'tiny', onProgress: (message) => console.error(message) });
const prompts = await readPromptFile(fileURLToPath(new URL('../../../datasets/fixtures/logit-prompts.jsonl', import.meta.url)));
const tokenizer = await loadTokenizer(dirs.bf16Dir);
const sequences = prompts.map((text) => Int32Array.from(tokenizer.encode(text)));
const others = (await engineStatuses()).filter((status) => status.available && status.name !== 'cpu');
const reference = await loadEngine('cpu');
const commit = describeEnvironment().commit;
const report = await createRunReport({
  reportsDir: fileURLToPath(new URL('../../../reports', import.meta.url)),
  name: 'engine-parity',
  environment: describeEnvironment({ reference: (await reference.capabilities()).device, engines: others }),
});

for (const status of others) {
  const engine = await loadEngine(status.name);
  const device = (await engine.capabilities()).device;
  for (const kernel of ['bf16', 'w8a16', 'w8a8'] as const) {
    const modelDir = weightFormatOf(kernel) === 'bf16' ? dirs.bf16Dir : dirs.fp8Dir;
    const a = await reference.load({ modelDir, kernel, maxBatch: 1, maxContext: 256 });
    const b = await engine.load({ modelDir, kernel, maxBatch: 1, maxContext: 256 });
    const summary = await compareLogits(a.logits!, b.logits!, sequences);
    const request = { messages: [{ role: 'user' as const, content: 'Write a haiku about rain.' }], thinking: false, sampling: GREEDY, maxNewTokens: greedyTokens, seed: 0 };
    const [expected] = await a.generate([request]);
    const [actual] = await b.generate([request]);
    const mismatch = expected!.tokenIds.findIndex((token, i) => actual!.tokenIds[i] !== token);
    const identical = mismatch === -1 ? expected!.tokenIds.length : mismatch;
    await a.dispose();
    await b.dispose();
    const base = { runId: report.runId, commit, engine: status.name, device, format: weightFormatOf(kernel), kernel, thinking: 'off', task: 'parity-vs-cpu/tiny', seed: 0 } as const;
    const rows: ResultRow[] = [
      { ...base, metric: 'logits_relative_l2', value: summary.relL2, unit: 'ratio', n: summary.positions, ciLow: null, ciHigh: null },
      { ...base, metric: 'kl_divergence_mean', value: summary.kl.mean, unit: 'nats', n: summary.positions, ciLow: summary.kl.mean - 1.96 * summary.kl.stdErr, ciHigh: summary.kl.mean + 1.96 * summary.kl.stdErr },
      { ...base, metric: 'kl_divergence_max', value: summary.kl.max, unit: 'nats', n: summary.positions, ciLow: null, ciHigh: null },
      { ...base, metric: 'top1_agreement', value: summary.top1Agreement.rate, unit: 'ratio', n: summary.positions, ciLow: summary.top1Agreement.ciLow, ciHigh: summary.top1Agreement.ciHigh },
      { ...base, metric: 'max_abs_logit_error', value: summary.maxAbsLogitError, unit: 'logit', n: summary.positions, ciLow: null, ciHigh: null },
      { ...base, metric: 'greedy_tokens_identical', value: identical, unit: 'tokens', n: expected!.tokenIds.length, ciLow: null, ciHigh: null },
    ];
    await report.add(rows);
    console.log(`${status.name} ${kernel.padEnd(6)} rel L2 ${summary.relL2.toExponential(2)}  mean KL ${summary.kl.mean.toExponential(2)}  top-1 ${(100 * summary.top1Agreement.rate).toFixed(2)}%  greedy ${identical}/${expected!.tokenIds.length} identical  (${device})`);
  }
  await engine.dispose();
}
await reference.dispose();
console.log(`report: ${report.dir}`);
