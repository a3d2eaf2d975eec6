import { writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { defineCommand, intList } from '../command.js';
import { engineName, kernelMode, openModel } from '../load-model.js';

export const logitsCommand = defineCommand({
  name: 'logits',
  summary: 'write the logits of every position of a token sequence (raw float32)',
  help: `Usage: pnpm quantbench logits --engine E --model DIR|REPO [--kernel bf16|w8a16|w8a8] --ids 1,2,3 --out FILE

Runs the token ids through the model in one prefill and writes the logits of every position as raw
little-endian float32, shape [number of ids, vocab_size]. The same command serves every engine, so two
engines' files can be compared byte for byte or statistically.

Options:
  --engine E        engine to run (cpu)
  --model DIR|REPO  model directory or Hugging Face repo id
  --kernel K        bf16 (BF16 checkpoint; default), w8a16 or w8a8 (FP8 checkpoint)
  --ids LIST        comma-separated token ids
  --out FILE        output file`,
  options: {
    engine: { type: 'string' },
    model: { type: 'string' },
    kernel: { type: 'string' },
    ids: { type: 'string' },
    out: { type: 'string' },
  },
  schema: z.object({
    engine: engineName,
    model: z.string({ error: 'required: a model directory or repo id' }).min(1),
    kernel: kernelMode.default('bf16'),
    ids: intList,
    out: z.string({ error: 'required: the output file' }).min(1),
  }),
  async run(input) {
    const opened = await openModel(input.engine, input.model, input.kernel, { maxBatch: 1, maxContext: input.ids.length });
    try {
      const logits = opened.model.logits;
      if (!logits) throw new Error(`engine '${input.engine}' does not expose logits`);
      const values = await logits.prefill(0, Int32Array.from(input.ids), 'all');
      await writeFile(input.out, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      console.log(`wrote ${input.out}: float32 little-endian [${input.ids.length}, ${logits.vocabSize}] (${input.engine}, ${input.kernel})`);
    } finally {
      await opened.close();
    }
  },
});
