import { DEFAULT_SYNTH_TEMPLATE, PRESET_NAMES, TEMPLATE_VARIANTS, parameterCount, writeSyntheticCheckpoints } from '@quantbench/model';
import { z } from 'zod';
import { defineCommand } from '../command.js';

export const synthCommand = defineCommand({
  name: 'synth',
  summary: 'write a seeded synthetic Qwen3 checkpoint pair (DIR/bf16 and DIR/fp8)',
  help: `Usage: pnpm quantbench synth --preset <${PRESET_NAMES.join('|')}> --out DIR [--seed N] [--template VARIANT] [--scale-dtype F32|BF16|F16]

Writes DIR/bf16/ and DIR/fp8/, complete Hugging Face-style model directories (config.json,
generation_config.json, tokenizer.json, tokenizer_config.json, safetensors). The FP8 one holds the BF16
weights block-quantised to e4m3 with 128x128 weight_scale_inv, as the published Qwen3 FP8 checkpoints are.

Options:
  --preset NAME        tiny (seconds), mid (Qwen3-0.6B layer shapes, 8 layers), qwen3-4b (the real shapes)
  --out DIR            where bf16/ and fp8/ are written (replaced if present)
  --seed N             weight seed (default 0); the same seed always gives the same bytes
  --template VARIANT   chat template: ${TEMPLATE_VARIANTS.join(', ')} (default ${DEFAULT_SYNTH_TEMPLATE}: both thinking modes)
  --scale-dtype DTYPE  stored dtype of weight_scale_inv (default F32)`,
  options: {
    preset: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string' },
    template: { type: 'string' },
    'scale-dtype': { type: 'string' },
  },
  schema: z.object({
    preset: z.enum(PRESET_NAMES as [string, ...string[]], { error: `expected one of ${PRESET_NAMES.join(', ')}` }),
    out: z.string({ error: 'required: the output directory' }).min(1),
    seed: z.coerce.number().int().nonnegative().max(2 ** 32 - 1).default(0),
    template: z.enum(TEMPLATE_VARIANTS).default(DEFAULT_SYNTH_TEMPLATE),
    'scale-dtype': z.enum(['F32', 'BF16', 'F16']).default('F32'),
  }),
  async run(input) {
    const started = performance.now();
    const result = await writeSyntheticCheckpoints({
      preset: input.preset as (typeof PRESET_NAMES)[number],
      outDir: input.out,
      seed: input.seed,
      template: input.template,
      scaleDtype: input['scale-dtype'],
      onProgress: (message) => console.error(message),
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`wrote ${result.bf16Dir} and ${result.fp8Dir}`);
    console.log(`preset ${input.preset}, seed ${result.seed}, ${(parameterCount(result.config) / 1e6).toFixed(1)}M parameters, ${seconds} s`);
  },
});
