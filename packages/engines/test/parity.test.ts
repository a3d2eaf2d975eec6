/**
 * Engine parity on the tiny preset: every other registered engine against the reference CPU engine (an engine that
 * cannot run here — CUDA without a GPU — is reported skipped with its reason). The bar (issues #4, #5): relative L2
 * of the logits < 1e-3 for bf16 and w8a16, < 1e-2 for w8a8, and 64 greedy tokens identical — or the first
 * divergence at a near-tie of the reference's two best logits, which f32 summation order may flip. The device top-k
 * of a batched decode step must equal the top of that step's full logits.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Engine, GREEDY, type KernelMode, type LogitsModel, weightFormatOf, relativeL2 } from '@quantbench/core';
import { ensureSyntheticCheckpoints } from '@quantbench/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineStatuses, loadEngine } from '../src/index.js';

const TOKENS = Int32Array.from([151644, 872, 198, 3838, 374, 279, 6722, 315, 9625, 30, 151645, 198, 151644, 77091, 198]);
const BOUNDS: Record<KernelMode, number> = { bf16: 1e-3, w8a16: 1e-3, w8a8: 1e-2 };
const GREEDY_TOKENS = 64;
/** A top-2 logit gap below this is a near-tie that f32 rounding differences may decide either way. */
const NEAR_TIE = 1e-2;
/**
 * In w8a8 a near-tie can sit one step earlier, in an activation: a value within ~1e-6 of the midpoint between two
 * e4m3 codes rounds either way under f32 noise (GPU exp and division are only accurate to a few ulp), and every
 * later quantisation turns that one flipped code into e4m3-sized noise (measured on this preset: relative L2 up to
 * 6.5e-2, the level of FP8's own rounding). There the divergence is explained when the engine's token is among the
 * reference's near-best: within this many logits of the reference's maximum. The same flips separate the CPU
 * engine from its own float64 reference: up to 1.0e-2 relative L2 on the fixed prompt set
 * (`pnpm --filter @quantbench/engine-cpu bench:reference`), so 1e-2 is the floor for w8a8 parity, not slack.
 */
const W8A8_NEAR_TIE = 2;

function topTwoGap(row: Float32Array): number {
  let first = -Infinity;
  let second = -Infinity;
  for (const value of row) {
    if (value > first) [first, second] = [value, first];
    else if (value > second) second = value;
  }
  return first - second;
}

const others = (await engineStatuses()).filter((status) => status.name !== 'cpu');

describe.each(others)('$name engine parity with the cpu engine', (status) => {
  const skip = status.available ? false : `skipped: ${status.reason}`;
  let cpu: Engine;
  let engine: Engine;
  let dirs: { bf16Dir: string; fp8Dir: string };
  beforeAll(async () => {
    if (skip) return;
    dirs = await ensureSyntheticCheckpoints({ preset: 'tiny', seed: 1, cacheDir: join(tmpdir(), 'quantbench-test-checkpoints') });
    cpu = await loadEngine('cpu');
    engine = await loadEngine(status.name);
  });
  afterAll(async () => {
    await cpu?.dispose();
    await engine?.dispose();
  });

  for (const kernel of ['bf16', 'w8a16', 'w8a8'] as const) {
    it.skipIf(Boolean(skip))(`${kernel}: logits within ${BOUNDS[kernel]} relative L2, ${GREEDY_TOKENS} greedy tokens identical`, async () => {
      const modelDir = weightFormatOf(kernel) === 'bf16' ? dirs.bf16Dir : dirs.fp8Dir;
      const reference = await cpu.load({ modelDir, kernel, maxBatch: 2, maxContext: 128 });
      const test = await engine.load({ modelDir, kernel, maxBatch: 2, maxContext: 128 });
      try {
        const a = await reference.logits!.prefill(0, TOKENS, 'all');
        reference.logits!.reset(0);
        const b = await test.logits!.prefill(0, TOKENS, 'all');
        test.logits!.reset(0);
        const error = relativeL2(b, a);
        console.log(`${status.name} vs cpu, ${kernel}: relative L2 ${error.toExponential(3)}`);
        expect(error).toBeLessThan(BOUNDS[kernel]);

        const request = { messages: [{ role: 'user' as const, content: 'Write a haiku about rain.' }], thinking: false, sampling: GREEDY, maxNewTokens: GREEDY_TOKENS, seed: 0 };
        const [expected] = await reference.generate([request]);
        const [actual] = await test.generate([request]);
        const mismatch = expected!.tokenIds.findIndex((token, i) => actual!.tokenIds[i] !== token);
        if (mismatch === -1) {
          expect(actual!.tokenIds).toEqual(expected!.tokenIds);
        } else {
          // Explain the divergence: the reference's logits at that step must be a near-tie.
          const prompt = reference.logits!;
          const context = Int32Array.from([...(await promptIds(reference, request)), ...expected!.tokenIds.slice(0, mismatch)]);
          const row = (await prompt.prefill(0, context, 'last')).slice();
          prompt.reset(0);
          const gap = topTwoGap(row);
          const max = row.reduce((best, value) => Math.max(best, value), -Infinity);
          const shortfall = max - row[actual!.tokenIds[mismatch]!]!;
          console.log(`${status.name} vs cpu, ${kernel}: greedy tokens diverge at step ${mismatch}, reference top-2 gap ${gap.toExponential(3)}, engine's token ${shortfall.toExponential(3)} below the reference's best`);
          if (kernel === 'w8a8') expect(shortfall).toBeLessThan(W8A8_NEAR_TIE);
          else expect(gap).toBeLessThan(NEAR_TIE);
        }

        if (test.logits!.decodeTopK) await expectDeviceTopKOfFullLogits(test.logits!);
      } finally {
        await reference.dispose();
        await test.dispose();
      }
    });
  }
});

async function promptIds(model: { modelDir: string }, request: { messages: readonly { role: 'user'; content: string }[]; thinking: boolean }): Promise<Int32Array> {
  const { loadTokenizer } = await import('@quantbench/model');
  const tokenizer = await loadTokenizer(model.modelDir);
  return tokenizer.encodeChat(request.messages, { thinking: request.thinking });
}

/** The device top-k of a batched decode step (two sequences of different lengths) equals the top of its full logits. */
async function expectDeviceTopKOfFullLogits(model: LogitsModel): Promise<void> {
  const k = 8;
  const inputs = [{ sequence: 0, token: 872 }, { sequence: 1, token: 198 }];
  const prepare = async (): Promise<void> => {
    model.reset(0);
    model.reset(1);
    await model.prefill(0, TOKENS.subarray(0, 5), 'none');
    await model.prefill(1, TOKENS.subarray(0, 9), 'none');
  };
  await prepare();
  const top = await model.decodeTopK!(inputs, k);
  await prepare();
  const full = await model.decode(inputs);
  model.reset(0);
  model.reset(1);
  for (let r = 0; r < inputs.length; r++) {
    const row = full.subarray(r * model.vocabSize, (r + 1) * model.vocabSize);
    const order = Array.from(row.keys()).sort((i, j) => row[j]! - row[i]! || i - j).slice(0, k);
    expect(Array.from(top.tokens.subarray(r * k, (r + 1) * k)), `row ${r}`).toEqual(order);
  }
}
