/**
 * The CPU engine against the independent float64 reference (test/reference/qwen3-f64.ts): the bar is a
 * relative L2 error of the logits below 1e-3 for bf16 and w8a16 and below 1e-2 for w8a8.
 *
 * Why those bounds hold with margin: the engine keeps activations in float32 and sums in float64, so its only
 * departures from the reference are float32 roundings of activations (relative 6e-8 each) compounded through
 * 4 layers — about 1e-6 in the logits. In w8a8 a float32-vs-float64 difference can, rarely, move an activation
 * across an e4m3 rounding boundary; each such flip changes one value by an e4m3 step, which stays far below 1e-2.
 */
import { type KernelMode, weightFormatOf, relativeL2 } from '@quantbench/core';
import { type Checkpoint, openCheckpoint } from '@quantbench/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCpuEngine } from '../src/index.js';
import { tinyCheckpoints } from './fixtures.js';
import { referenceLogits } from './reference/qwen3-f64.js';

const TOKENS = [151644, 872, 198, 3838, 374, 279, 6722, 315, 9625, 30, 151645, 198, 151644, 77091, 198, 785, 6722, 374];
const BOUNDS: Record<KernelMode, number> = { bf16: 1e-3, w8a16: 1e-3, w8a8: 1e-2 };

describe('cpu engine agrees with the float64 reference', () => {
  let dirs: { bf16Dir: string; fp8Dir: string };
  const checkpoints: Checkpoint[] = [];
  beforeAll(async () => {
    dirs = await tinyCheckpoints();
  });
  afterAll(async () => {
    await Promise.all(checkpoints.map((checkpoint) => checkpoint.close()));
  });

  for (const kernel of ['bf16', 'w8a16', 'w8a8'] as const) {
    it(`${kernel}: relative L2 of all logits < ${BOUNDS[kernel]}`, async () => {
      const dir = weightFormatOf(kernel) === 'bf16' ? dirs.bf16Dir : dirs.fp8Dir;
      const checkpoint = await openCheckpoint(dir);
      checkpoints.push(checkpoint);
      const reference = await referenceLogits(checkpoint, kernel, TOKENS);
      const engine = await createCpuEngine({ prefillChunk: 7 });
      const model = await engine.load({ modelDir: dir, kernel, maxBatch: 1, maxContext: 64 });
      const logits = await model.logits!.prefill(0, Int32Array.from(TOKENS), 'all');
      await engine.dispose();
      const error = relativeL2(logits, reference);
      console.log(`cpu ${kernel} vs float64 reference: relative L2 ${error.toExponential(3)}`);
      expect(error).toBeLessThan(BOUNDS[kernel]);
      // Not vacuous: the FP8 modes really differ from BF16 by far more than the bound.
      if (kernel !== 'bf16') {
        const bf16 = await openCheckpoint(dirs.bf16Dir);
        checkpoints.push(bf16);
        expect(relativeL2(logits, await referenceLogits(bf16, 'bf16', TOKENS))).toBeGreaterThan(10 * BOUNDS[kernel]);
      }
    });
  }
});

describe('RoPE frequencies agree with the reference', () => {
  it('plain and YaRN ×4 inverse frequencies and attention factor', async () => {
    const { ropeFrequencies } = await import('@quantbench/model');
    const { yarnInvFreq, defaultInvFreq } = await import('./reference/qwen3-f64.js');
    const { PRESETS } = await import('@quantbench/model');
    const plain = PRESETS.tiny;
    expect([...ropeFrequencies(plain).invFreq]).toEqual([...defaultInvFreq(plain.ropeTheta, plain.headDim)]);
    const yarn = { ...plain, ropeScaling: { type: 'yarn' as const, factor: 4, originalMaxPositions: 32768, betaFast: null, betaSlow: null, attentionFactor: null } };
    const engine = ropeFrequencies(yarn);
    const reference = yarnInvFreq(yarn.ropeTheta, yarn.headDim, yarn.ropeScaling);
    engine.invFreq.forEach((value, j) => expect(value).toBeCloseTo(reference.invFreq[j]!, 15));
    expect(engine.attentionScale).toBeCloseTo(reference.attentionFactor, 15);
  });
});
