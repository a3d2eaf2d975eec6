/**
 * The contract test suite every engine runs (vitest). It checks what the `Engine` contract promises, against the
 * engine itself: KV-cached decode equals full recompute, a batch of sequences of different lengths equals each
 * sequence alone, logits are causal, chunking does not matter, bad input is refused with a clear error, and
 * generation is reproducible. Agreement with the reference engine's numbers is each engine's own test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Engine, type KernelMode, type LoadedModel, weightFormatOf } from '../engine.js';
import { GREEDY } from '../sampling/params.js';

export interface ContractCheckpoints {
  /** A BF16 checkpoint directory and its FP8 twin (e.g. `synth --preset tiny`). */
  readonly bf16Dir: string;
  readonly fp8Dir: string;
}

export interface EngineContractOptions {
  readonly createEngine: () => Promise<Engine>;
  readonly checkpoints: () => Promise<ContractCheckpoints>;
  readonly kernels?: readonly KernelMode[];
  /**
   * Largest |difference| allowed where the contract wants equal logits (decode vs recompute, batch vs alone).
   * 0 for engines whose arithmetic does not depend on batch shape; GPU engines may state a small bound.
   */
  readonly tolerance?: number;
}

/** A few token ids of ordinary text and chat markup, inside Qwen3's vocabulary. */
const PROMPT = Int32Array.from([151644, 872, 198, 9707, 11, 1879, 0, 3838, 374, 220, 17, 10, 17, 30, 151645, 198]);

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= max)) max = Number.isNaN(d) ? Infinity : d;
  }
  return max;
}

function row(logits: Float32Array, index: number, vocab: number): Float32Array {
  return logits.subarray(index * vocab, (index + 1) * vocab);
}

export function describeEngineContract(name: string, options: EngineContractOptions): void {
  const kernels = options.kernels ?? ['bf16', 'w8a16', 'w8a8'];
  const tolerance = options.tolerance ?? 0;

  describe(`${name} engine: the Engine contract`, () => {
    let engine: Engine;
    let checkpoints: ContractCheckpoints;
    const dirFor = (kernel: KernelMode): string => (weightFormatOf(kernel) === 'bf16' ? checkpoints.bf16Dir : checkpoints.fp8Dir);

    beforeAll(async () => {
      checkpoints = await options.checkpoints();
      engine = await options.createEngine();
    });
    afterAll(async () => {
      await engine?.dispose();
    });

    it('states its capabilities', async () => {
      const capabilities = await engine.capabilities();
      expect(capabilities.engine).toBe(engine.name);
      expect(capabilities.device.length).toBeGreaterThan(0);
      for (const kernel of kernels) expect(capabilities.kernelModes).toContain(kernel);
      expect(capabilities.maxBatch).toBeGreaterThanOrEqual(1);
    });

    it('refuses a kernel mode that does not match the checkpoint, naming the directory', async () => {
      await expect(engine.load({ modelDir: checkpoints.bf16Dir, kernel: 'w8a16' })).rejects.toThrow(checkpoints.bf16Dir);
      await expect(engine.load({ modelDir: checkpoints.fp8Dir, kernel: 'bf16' })).rejects.toThrow(/needs a BF16 checkpoint/);
    });

    for (const kernel of kernels) {
      describe(kernel, () => {
        let model: LoadedModel;
        beforeAll(async () => {
          model = await engine.load({ modelDir: dirFor(kernel), kernel, maxBatch: 4, maxContext: 128 });
        });
        afterAll(async () => {
          await model?.dispose();
        });

        it('has finite logits with the vocabulary size', async () => {
          const logits = model.logits!;
          const all = await logits.prefill(0, PROMPT, 'all');
          logits.reset(0);
          expect(all.length).toBe(PROMPT.length * logits.vocabSize);
          expect(all.every(Number.isFinite)).toBe(true);
          expect(logits.length(0)).toBe(0);
        });

        it('is causal: appending tokens leaves earlier positions unchanged', async () => {
          const logits = model.logits!;
          const short = await logits.prefill(0, PROMPT.subarray(0, 6), 'all');
          logits.reset(0);
          const long = await logits.prefill(0, PROMPT, 'all');
          logits.reset(0);
          expect(maxAbsDifference(short, long.subarray(0, short.length))).toBeLessThanOrEqual(tolerance);
        });

        it('decodes from the KV cache exactly as a full recompute', async () => {
          const logits = model.logits!;
          const vocab = logits.vocabSize;
          const full = await logits.prefill(0, PROMPT, 'all');
          logits.reset(0);
          const split = 10;
          const prefix = await logits.prefill(0, PROMPT.subarray(0, split), 'last');
          expect(maxAbsDifference(prefix, row(full, split - 1, vocab))).toBeLessThanOrEqual(tolerance);
          for (let position = split; position < PROMPT.length; position++) {
            const step = await logits.decode([{ sequence: 0, token: PROMPT[position]! }]);
            expect(maxAbsDifference(step, row(full, position, vocab)), `position ${position}`).toBeLessThanOrEqual(tolerance);
          }
          expect(logits.length(0)).toBe(PROMPT.length);
          logits.reset(0);
        });

        it('decodes a batch of sequences of different lengths as each alone', async () => {
          const logits = model.logits!;
          const vocab = logits.vocabSize;
          const lengths = [3, 9, 14];
          const next = [PROMPT[3]!, PROMPT[9]!, PROMPT[14]!];
          const alone: Float32Array[] = [];
          for (const [i, length] of lengths.entries()) {
            await logits.prefill(0, PROMPT.subarray(0, length), 'none');
            alone.push((await logits.decode([{ sequence: 0, token: next[i]! }])).slice());
            logits.reset(0);
          }
          for (const [i, length] of lengths.entries()) await logits.prefill(i + 1, PROMPT.subarray(0, length), 'none');
          const batched = await logits.decode(lengths.map((_, i) => ({ sequence: i + 1, token: next[i]! })));
          for (let i = 0; i < lengths.length; i++) {
            expect(maxAbsDifference(row(batched, i, vocab), alone[i]!), `sequence of length ${lengths[i]}`).toBeLessThanOrEqual(tolerance);
            expect(logits.length(i + 1)).toBe(lengths[i]! + 1);
            logits.reset(i + 1);
          }
        });

        it('refuses out-of-vocabulary tokens, repeated sequences in a step and context overflow', async () => {
          const logits = model.logits!;
          await expect(logits.prefill(0, Int32Array.from([logits.vocabSize]), 'last')).rejects.toThrow(/outside the vocabulary/);
          await logits.prefill(0, PROMPT.subarray(0, 2), 'none');
          await expect(logits.decode([{ sequence: 0, token: 1 }, { sequence: 0, token: 2 }])).rejects.toThrow(/same sequence/);
          logits.reset(0);
          await expect(logits.prefill(0, new Int32Array(logits.maxContext + 1), 'none')).rejects.toThrow(/maxContext/);
          logits.reset(0);
        });

        it('generates reproducibly: greedy twice, and seeded sampling alone or in a batch', async () => {
          const messages = [{ role: 'user', content: 'Count to five.' }] as const;
          const greedy = { messages, thinking: false, sampling: GREEDY, maxNewTokens: 8, seed: 0 };
          const sampled = { ...greedy, sampling: { ...GREEDY, temperature: 0.7, topK: 20, topP: 0.8 }, seed: 11 };
          const [first] = await model.generate([greedy]);
          const [second] = await model.generate([greedy]);
          expect(first!.tokenIds).toEqual(second!.tokenIds);
          expect(first!.tokenIds.length).toBeGreaterThan(0);
          const [alone] = await model.generate([sampled]);
          const batch = await model.generate([greedy, sampled, { ...sampled, seed: 12 }]);
          expect(batch[1]!.tokenIds).toEqual(alone!.tokenIds);
          expect(batch[0]!.tokenIds).toEqual(first!.tokenIds);
          const memory = model.memory();
          expect(memory.weightBytes).toBeGreaterThan(0);
          expect(memory.bytesPeak).toBeGreaterThanOrEqual(memory.bytesNow);
        });
      });
    }

    it('holds FP8 weights in about half the memory of BF16', async () => {
      if (!kernels.includes('bf16') || !kernels.includes('w8a16')) return;
      const bf16 = await engine.load({ modelDir: checkpoints.bf16Dir, kernel: 'bf16', maxBatch: 1, maxContext: 16 });
      const fp8 = await engine.load({ modelDir: checkpoints.fp8Dir, kernel: 'w8a16', maxBatch: 1, maxContext: 16 });
      // Only the linear projections are FP8 (embeddings and norms stay BF16), so the ratio depends on the shapes;
      // what must hold is that FP8 projections take one byte per weight, not two or four.
      expect(fp8.memory().weightBytes).toBeLessThan(bf16.memory().weightBytes);
      await bf16.dispose();
      await fp8.dispose();
    });
  });
}
