/**
 * Writes a seeded synthetic Qwen3 checkpoint pair: `<out>/bf16/` and `<out>/fp8/`, each a complete Hugging
 * Face-style model directory. The FP8 directory holds the BF16 weights block-quantised exactly as the published
 * Qwen3 FP8 checkpoints are (128×128 blocks, scale = amax/448), so FP8−BF16 differences are the format's alone.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DType, bf16ArrayToF32, encodeFromF32, f32ArrayToBf16, quantizeBlockFp8 } from '@quantbench/core';
import { FP8_BLOCK_SIZE, type Qwen3Config, toHfConfigJson } from '../config/index.js';
import { type ExpectedTensor, expectedTensors, FINAL_NORM_NAME, scaleInvName } from '../checkpoint/index.js';
import { type NewTensor, writeShardedSafetensors } from '../safetensors/index.js';
import { copyQwen3TokenizerFiles, type TemplateVariant } from '../tokenizer/index.js';
import { PRESETS, type PresetName } from './presets.js';
import { finalNormLevel, syntheticEmbedding, syntheticLinear, syntheticNorm } from './weights.js';

/** Bump when the weights a seed produces change, so cached checkpoints are remade. */
export const SYNTH_VERSION = 1;

/**
 * The hybrid Qwen3 template serves both thinking modes from one checkpoint (`enable_thinking`), which is what the
 * bench's thinking-mode comparison needs; `thinking-2507` and `instruct-2507` reproduce the 2507 models' prompts.
 */
export const DEFAULT_SYNTH_TEMPLATE: TemplateVariant = 'hybrid';

/** Hugging Face's default shard size for `save_pretrained` is 5 GB; Qwen's own shards are about 4 GB. */
const MAX_SHARD_BYTES = 4 * 1024 ** 3;

export interface SynthOptions {
  readonly preset: PresetName;
  /** The directory that receives `bf16/` and `fp8/`. */
  readonly outDir: string;
  readonly seed?: number;
  /** Which Qwen3 chat template the checkpoint carries (default DEFAULT_SYNTH_TEMPLATE). */
  readonly template?: TemplateVariant;
  /** Stored dtype of `weight_scale_inv` (published FP8 checkpoints use F32, BF16 or F16). */
  readonly scaleDtype?: Extract<DType, 'F32' | 'BF16' | 'F16'>;
  readonly onProgress?: (message: string) => void;
}

export interface SynthResult {
  readonly bf16Dir: string;
  readonly fp8Dir: string;
  readonly config: Qwen3Config;
  readonly seed: number;
  readonly parameters: number;
}

/** The BF16 value of a synthetic tensor, as float32 (every value exactly representable in BF16). */
function syntheticTensor(config: Qwen3Config, seed: number, spec: ExpectedTensor): Float32Array {
  const [rows = 0, cols = 1] = spec.shape;
  let values: Float32Array;
  if (spec.role === 'embedding' || spec.role === 'lm_head') values = syntheticEmbedding(seed, spec.name, rows, cols);
  else if (spec.role === 'linear') values = syntheticLinear(seed, spec.name, rows, cols);
  else if (spec.name === FINAL_NORM_NAME) values = syntheticNorm(seed, spec.name, rows, finalNormLevel(config));
  else values = syntheticNorm(seed, spec.name, rows);
  return bf16ArrayToF32(f32ArrayToBf16(values));
}

function bytesOf(array: Uint16Array | Float32Array | Uint8Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/**
 * The tensors of both formats. Each weight is made once from the seed; the FP8 checkpoint shares the BF16
 * embeddings and norms and holds the block-quantised linear projections.
 */
function checkpointTensors(config: Qwen3Config, seed: number, scaleDtype: DType): Record<'bf16' | 'fp8', NewTensor[]> {
  const tensors: Record<'bf16' | 'fp8', NewTensor[]> = { bf16: [], fp8: [] };
  for (const spec of expectedTensors(config, 'bf16')) {
    const values = syntheticTensor(config, seed, spec);
    const bf16: NewTensor = { name: spec.name, dtype: 'BF16', shape: spec.shape, data: bytesOf(f32ArrayToBf16(values)) };
    tensors.bf16.push(bf16);
    if (spec.role !== 'linear') {
      tensors.fp8.push(bf16);
      continue;
    }
    const [rows = 0, cols = 1] = spec.shape;
    const quantised = quantizeBlockFp8(values, rows, cols, FP8_BLOCK_SIZE[0]);
    tensors.fp8.push({ name: spec.name, dtype: 'F8_E4M3', shape: spec.shape, data: quantised.codes });
    tensors.fp8.push({
      name: scaleInvName(spec.name),
      dtype: scaleDtype,
      shape: [quantised.scaleRows, quantised.scaleCols],
      data: encodeFromF32(scaleDtype, quantised.scaleInv),
    });
  }
  return tensors;
}

function generationConfig(template: TemplateVariant): Record<string, unknown> {
  // Qwen's recommended sampling per model card: thinking T=0.6/top-p 0.95, non-thinking T=0.7/top-p 0.8.
  const thinking = template !== 'instruct-2507';
  return {
    bos_token_id: 151643,
    do_sample: true,
    eos_token_id: [151645, 151643],
    pad_token_id: 151643,
    temperature: thinking ? 0.6 : 0.7,
    top_k: 20,
    top_p: thinking ? 0.95 : 0.8,
    transformers_version: '4.51.0',
  };
}

async function writeModelDir(
  dir: string,
  config: Qwen3Config,
  tensors: readonly NewTensor[],
  options: Required<Pick<SynthOptions, 'preset' | 'template'>> & { seed: number },
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;
  await writeFile(join(dir, 'config.json'), json(toHfConfigJson(config)));
  await writeFile(join(dir, 'generation_config.json'), json(generationConfig(options.template)));
  await copyQwen3TokenizerFiles(dir, options.template);
  await writeFile(
    join(dir, 'quantbench_synthetic.json'),
    json({ generator: 'quantbench synth', version: SYNTH_VERSION, preset: options.preset, seed: options.seed, template: options.template }),
  );
  await writeShardedSafetensors(dir, tensors, { maxShardBytes: MAX_SHARD_BYTES, metadata: { format: 'pt' } });
}

/**
 * Writes both directories. Each is built under a temporary name and renamed into place when complete, so an
 * interrupted run never leaves a directory that looks finished.
 */
export async function writeSyntheticCheckpoints(options: SynthOptions): Promise<SynthResult> {
  const seed = options.seed ?? 0;
  const template = options.template ?? DEFAULT_SYNTH_TEMPLATE;
  const scaleDtype = options.scaleDtype ?? 'F32';
  const base = PRESETS[options.preset];
  const log = options.onProgress ?? (() => {});
  const dirs = { bf16: join(options.outDir, 'bf16'), fp8: join(options.outDir, 'fp8') };
  const configs: Record<'bf16' | 'fp8', Qwen3Config> = {
    bf16: base,
    fp8: { ...base, quantization: { blockSize: FP8_BLOCK_SIZE, activationScheme: 'dynamic' } },
  };
  log(`${options.preset}: generating weights (seed ${seed})`);
  const tensors = checkpointTensors(base, seed, scaleDtype);
  for (const format of ['bf16', 'fp8'] as const) {
    const partial = `${dirs[format]}.partial`;
    await rm(partial, { recursive: true, force: true });
    log(`${options.preset}/${format}: writing ${partial}`);
    await writeModelDir(partial, configs[format], tensors[format], { preset: options.preset, template, seed });
    await rm(dirs[format], { recursive: true, force: true });
    await rename(partial, dirs[format]);
  }
  return { bf16Dir: dirs.bf16, fp8Dir: dirs.fp8, config: base, seed, parameters: parameterCount(base) };
}

export function parameterCount(config: Qwen3Config): number {
  return expectedTensors(config, 'bf16').reduce((sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1), 0);
}
