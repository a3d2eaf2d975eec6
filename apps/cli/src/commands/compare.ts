import { fileURLToPath } from 'node:url';
import { compareLogits, formatComparison, readPromptFile } from '@quantbench/bench';
import { loadTokenizer } from '@quantbench/model';
import { z } from 'zod';
import { defineCommand } from '../command.js';
import { engineName, kernelMode, openModel } from '../load-model.js';

const DEFAULT_PROMPTS = fileURLToPath(new URL('../../../../datasets/fixtures/logit-prompts.jsonl', import.meta.url));

export const compareCommand = defineCommand({
  name: 'compare',
  summary: 'KL divergence, top-1 agreement and Δp between two models or engines',
  help: `Usage: pnpm quantbench compare --model-a DIR --engine-a E --kernel-a K --model-b DIR --engine-b E --kernel-b K [--prompts FILE]

Runs both models over the same token sequences and compares their next-token distributions at every
position, with the statistics of llama.cpp's --kl-divergence: mean / median / 99th percentile / max
KL(A‖B), how often the top token agrees (with a 95% Wilson interval), Δp of the text's actual next token,
perplexities, and the largest logit error. A is the reference (e.g. BF16), B the test (e.g. FP8).
FP8 against BF16 on one engine is the format's accuracy delta; one format on two engines is engine parity.

Options:
  --model-a / --model-b    model directories or repo ids
  --engine-a / --engine-b  engines (cpu)
  --kernel-a / --kernel-b  bf16, w8a16 or w8a8
  --prompts FILE           one prompt per line (.txt) or {"text": ...} per line (.jsonl);
                           default datasets/fixtures/logit-prompts.jsonl`,
  options: {
    'model-a': { type: 'string' },
    'engine-a': { type: 'string' },
    'kernel-a': { type: 'string' },
    'model-b': { type: 'string' },
    'engine-b': { type: 'string' },
    'kernel-b': { type: 'string' },
    prompts: { type: 'string' },
  },
  schema: z.object({
    'model-a': z.string({ error: 'required: the reference model' }).min(1),
    'engine-a': engineName,
    'kernel-a': kernelMode,
    'model-b': z.string({ error: 'required: the test model' }).min(1),
    'engine-b': engineName,
    'kernel-b': kernelMode,
    prompts: z.string().default(DEFAULT_PROMPTS),
  }),
  async run(input) {
    const prompts = await readPromptFile(input.prompts);
    const a = await openModel(input['engine-a'], input['model-a'], input['kernel-a'], { maxBatch: 1 });
    try {
      const b = await openModel(input['engine-b'], input['model-b'], input['kernel-b'], { maxBatch: 1 });
      try {
        const tokenizer = await loadTokenizer(a.model.modelDir);
        const sequences = prompts.map((text) => Int32Array.from(tokenizer.encode(text)));
        const reference = a.model.logits;
        const test = b.model.logits;
        if (!reference || !test) throw new Error('both engines must expose logits');
        const summary = await compareLogits(reference, test, sequences);
        console.log(`A: ${input['engine-a']} ${input['kernel-a']} ${input['model-a']}\nB: ${input['engine-b']} ${input['kernel-b']} ${input['model-b']}`);
        console.log(formatComparison(summary));
      } finally {
        await b.close();
      }
    } finally {
      await a.close();
    }
  },
});
