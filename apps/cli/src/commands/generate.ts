import { GREEDY, SamplingParamsSchema } from '@quantbench/core';
import { createStreamDecoder, loadTokenizer } from '@quantbench/model';
import { z } from 'zod';
import { defineCommand, onOff } from '../command.js';
import { engineName, kernelMode, mib, openModel } from '../load-model.js';

/** Qwen's recommended sampling (model cards): thinking T=0.6, top-p 0.95; non-thinking T=0.7, top-p 0.8; top-k 20. */
const QWEN_SAMPLING = {
  thinking: SamplingParamsSchema.parse({ temperature: 0.6, topP: 0.95, topK: 20 }),
  instruct: SamplingParamsSchema.parse({ temperature: 0.7, topP: 0.8, topK: 20 }),
};

export const generateCommand = defineCommand({
  name: 'generate',
  summary: 'stream a chat completion, then print speed and memory',
  help: `Usage: pnpm quantbench generate --engine E --model DIR|REPO [--kernel K] [--thinking on|off] --prompt TEXT [--max-new N] [--seed N] [--greedy]

Streams the completion to stdout, then prints prefill and decode tokens/s, time to first token and the
engine's peak memory. Sampling follows Qwen's recommendation for the thinking mode unless --greedy.

Options:
  --engine E         engine to run (cpu)
  --model DIR|REPO   model directory or Hugging Face repo id
  --kernel K         bf16 (default), w8a16 or w8a8
  --thinking on|off  thinking mode (default on)
  --prompt TEXT      the user message
  --max-new N        most new tokens (default 256)
  --seed N           sampling seed (default 0)
  --greedy           argmax decoding`,
  options: {
    engine: { type: 'string' },
    model: { type: 'string' },
    kernel: { type: 'string' },
    thinking: { type: 'string' },
    prompt: { type: 'string' },
    'max-new': { type: 'string' },
    seed: { type: 'string' },
    greedy: { type: 'boolean' },
  },
  schema: z.object({
    engine: engineName,
    model: z.string({ error: 'required: a model directory or repo id' }).min(1),
    kernel: kernelMode.default('bf16'),
    thinking: onOff.default(true),
    prompt: z.string({ error: 'required: the user message' }),
    'max-new': z.coerce.number().int().positive().default(256),
    seed: z.coerce.number().int().nonnegative().default(0),
    greedy: z.boolean().default(false),
  }),
  async run(input) {
    const opened = await openModel(input.engine, input.model, input.kernel, { maxBatch: 1 });
    try {
      const tokenizer = await loadTokenizer(opened.model.modelDir);
      const stream = createStreamDecoder(tokenizer);
      const sampling = input.greedy ? GREEDY : input.thinking ? QWEN_SAMPLING.thinking : QWEN_SAMPLING.instruct;
      const [result] = await opened.model.generate(
        [{ messages: [{ role: 'user', content: input.prompt }], thinking: input.thinking, sampling, maxNewTokens: input['max-new'], seed: input.seed }],
        { onToken: (event) => process.stdout.write(stream.push(event.tokenId)) },
      );
      process.stdout.write(`${stream.flush()}\n`);
      if (!result) return;
      const decodeTokens = result.tokenIds.length - 1;
      const decodeMs = result.totalMs - result.ttftMs;
      const memory = opened.model.memory();
      console.error(
        [
          `--- ${input.engine} ${input.kernel}, ${result.finishReason === 'stop' ? 'finished' : 'stopped at --max-new'}`,
          `prompt ${result.promptTokens} tokens, prefill ${((result.promptTokens / result.ttftMs) * 1000).toFixed(1)} tokens/s, time to first token ${result.ttftMs.toFixed(0)} ms`,
          `generated ${result.tokenIds.length} tokens, decode ${decodeTokens > 0 ? ((decodeTokens / decodeMs) * 1000).toFixed(2) : 'n/a'} tokens/s`,
          `memory: peak ${mib(memory.bytesPeak)} (weights ${mib(memory.weightBytes)}, KV cache ${mib(memory.kvCacheBytes)}; ${memory.source})`,
        ].join('\n'),
      );
    } finally {
      await opened.close();
    }
  },
});
