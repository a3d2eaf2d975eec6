import { access, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { TemplateVariant } from '../tokenizer/index.js';
import type { PresetName } from './presets.js';
import { DEFAULT_SYNTH_TEMPLATE, SYNTH_VERSION, type SynthResult, writeSyntheticCheckpoints } from './write.js';

export interface CachedSynthOptions {
  readonly preset: PresetName;
  readonly seed?: number;
  readonly template?: TemplateVariant;
  /** Default: $QUANTBENCH_CACHE/synthetic, else ~/.cache/quantbench/synthetic. */
  readonly cacheDir?: string;
  readonly onProgress?: (message: string) => void;
}

export function defaultSynthCacheDir(): string {
  const root = process.env.QUANTBENCH_CACHE ?? join(homedir(), '.cache', 'quantbench');
  return join(root, 'synthetic');
}

async function isComplete(dir: string): Promise<boolean> {
  try {
    await access(join(dir, 'bf16', 'config.json'));
    const marker = JSON.parse(await readFile(join(dir, 'fp8', 'quantbench_synthetic.json'), 'utf8')) as { version?: number };
    return marker.version === SYNTH_VERSION;
  } catch {
    return false;
  }
}

/**
 * The synthetic checkpoint pair for (preset, seed, template), made once and reused. The directory name carries
 * the generator version, so a change to the weight statistics never serves stale weights.
 */
export async function ensureSyntheticCheckpoints(options: CachedSynthOptions): Promise<{ bf16Dir: string; fp8Dir: string; made: boolean }> {
  const seed = options.seed ?? 0;
  const template = options.template ?? DEFAULT_SYNTH_TEMPLATE;
  const outDir = join(options.cacheDir ?? defaultSynthCacheDir(), `${options.preset}-${template}-seed${seed}-v${SYNTH_VERSION}`);
  if (await isComplete(outDir)) return { bf16Dir: join(outDir, 'bf16'), fp8Dir: join(outDir, 'fp8'), made: false };
  const result: SynthResult = await writeSyntheticCheckpoints({ preset: options.preset, outDir, seed, template, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
  return { bf16Dir: result.bf16Dir, fp8Dir: result.fp8Dir, made: true };
}
