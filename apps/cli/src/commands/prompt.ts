import { loadTokenizer, readQwen3Config, resolveRepo } from '@quantbench/model';
import { z } from 'zod';
import { defineCommand, onOff } from '../command.js';

export const promptCommand = defineCommand({
  name: 'prompt',
  summary: "render a chat prompt with the model's own chat template",
  help: `Usage: pnpm quantbench prompt --model DIR|REPO --thinking on|off --user TEXT [--system TEXT] [--soft-switch] [--json]

Prints the prompt exactly as the model sees it, rendered by the chat template in the model's
tokenizer_config.json with enable_thinking set from --thinking.

Options:
  --model DIR|REPO  a model directory, or a Hugging Face repo id (downloaded and cached; HF_HUB_OFFLINE=1 for cache only)
  --thinking on|off thinking mode (enable_thinking); the 2507 Thinking template accepts only 'on', Instruct only 'off'
  --user TEXT       the user message
  --system TEXT     an optional system message
  --soft-switch     also append Qwen3's /think or /no_think to the user message (honoured by hybrid Qwen3 models)
  --json            print {"text": ..., "ids": [...]} instead of the text`,
  options: {
    model: { type: 'string' },
    thinking: { type: 'string' },
    user: { type: 'string' },
    system: { type: 'string' },
    'soft-switch': { type: 'boolean' },
    json: { type: 'boolean' },
  },
  schema: z.object({
    model: z.string({ error: 'required: a model directory or repo id' }).min(1),
    thinking: onOff,
    user: z.string({ error: 'required: the user message' }),
    system: z.string().optional(),
    'soft-switch': z.boolean().default(false),
    json: z.boolean().default(false),
  }),
  async run(input) {
    const { dir } = await resolveRepo({ type: 'model', id: input.model }, {});
    const config = await readQwen3Config(dir);
    const tokenizer = await loadTokenizer(dir, { vocabSize: config.vocabSize });
    const messages = [
      ...(input.system === undefined ? [] : [{ role: 'system' as const, content: input.system }]),
      { role: 'user' as const, content: input.user },
    ];
    const options = { thinking: input.thinking, softSwitch: input['soft-switch'] };
    const text = tokenizer.renderChat(messages, options);
    if (input.json) console.log(JSON.stringify({ text, ids: [...tokenizer.encodeChat(messages, options)] }));
    else process.stdout.write(text);
  },
});
