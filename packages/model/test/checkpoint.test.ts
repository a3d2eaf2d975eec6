import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeFromF32, type WeightFormat } from '@quantbench/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  LINEAR_PROJECTIONS,
  expectedTensors,
  openCheckpoint,
  scaleInvName,
  type ExpectedTensor,
} from '../src/checkpoint/index.js';
import { toHfConfigJson, type Qwen3Config } from '../src/config/index.js';
import { ModelFileError } from '../src/errors.js';
import {
  SAFETENSORS_DTYPE_BYTES,
  writeShardedSafetensors,
  type NewTensor,
  type SafetensorsDType,
} from '../src/safetensors/index.js';

const TINY: Qwen3Config = {
  hiddenSize: 64,
  intermediateSize: 160, // not a multiple of 128: partial scale blocks
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 16,
  vocabSize: 320,
  maxPositions: 4096,
  rmsNormEps: 1e-6,
  ropeTheta: 1_000_000,
  ropeScaling: null,
  tieWordEmbeddings: true,
  quantization: null,
};
const TINY_FP8: Qwen3Config = { ...TINY, quantization: { blockSize: [128, 128], activationScheme: 'dynamic' } };

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qb-checkpoint-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Options {
  omit?: string[];
  override?: Record<string, { dtype?: SafetensorsDType; shape?: number[] }>;
  extra?: NewTensor[];
  /** Dtype of every weight_scale_inv (default F32). */
  scaleDtype?: SafetensorsDType;
  maxShardBytes?: number;
  /** Weights laid out for this config (default: the config written to config.json). */
  weightsFor?: Qwen3Config;
  weightsFormat?: WeightFormat;
}

function bytesFor(spec: ExpectedTensor, dtype: SafetensorsDType, shape: readonly number[], index: number): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (spec.role === 'scale_inv' || spec.role === 'norm') {
    // Scales and norm gains: recognisable float values (index + 1) / 4.
    const values = new Float32Array(count).map((_, i) => (i + 1 + index) / 4);
    return encodeFromF32(dtype, values);
  }
  const out = new Uint8Array(count * SAFETENSORS_DTYPE_BYTES[dtype]);
  for (let i = 0; i < out.length; i++) out[i] = (i * 7 + index) & 0x7f;
  return out;
}

/** Writes config.json (from `config`) and the tensors `expectedTensors` says, altered as `options` say. */
async function writeCheckpoint(config: Qwen3Config, options: Options = {}): Promise<Map<string, NewTensor>> {
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(toHfConfigJson(config), null, 2)}\n`);
  const weightsConfig = options.weightsFor ?? config;
  const format = options.weightsFormat ?? (weightsConfig.quantization === null ? 'bf16' : 'fp8');
  const tensors = new Map<string, NewTensor>();
  expectedTensors(weightsConfig, format).forEach((spec, index) => {
    if (options.omit?.includes(spec.name)) return;
    const override = options.override?.[spec.name];
    const dtype = override?.dtype ?? (spec.role === 'scale_inv' ? (options.scaleDtype ?? 'F32') : spec.dtypes[0]!);
    const shape = override?.shape ?? [...spec.shape];
    tensors.set(spec.name, { name: spec.name, dtype, shape, data: bytesFor(spec, dtype, shape, index) });
  });
  for (const tensor of options.extra ?? []) tensors.set(tensor.name, tensor);
  await writeShardedSafetensors(dir, [...tensors.values()], {
    maxShardBytes: options.maxShardBytes ?? 1 << 30,
    metadata: { format: 'pt' },
  });
  return tensors;
}

async function openError(): Promise<ModelFileError> {
  const error = await openCheckpoint(dir).then(
    async (checkpoint) => {
      await checkpoint.close();
      return null;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelFileError);
  expect((error as Error).message).toMatch(/Fix: /);
  return error as ModelFileError;
}

const single = (): string => join(dir, 'model.safetensors');

describe('expectedTensors', () => {
  it('lists the Qwen3 tensors with config shapes', () => {
    const bf16 = expectedTensors(TINY, 'bf16');
    expect(bf16).toHaveLength(1 + 2 * 11 + 1);
    expect(bf16[0]).toMatchObject({ name: 'model.embed_tokens.weight', shape: [320, 64], dtypes: ['BF16'] });
    const byName = new Map(bf16.map((t) => [t.name, t]));
    expect(byName.get('model.layers.1.self_attn.q_proj.weight')?.shape).toEqual([64, 64]);
    expect(byName.get('model.layers.1.self_attn.k_proj.weight')?.shape).toEqual([32, 64]);
    expect(byName.get('model.layers.1.self_attn.o_proj.weight')?.shape).toEqual([64, 64]);
    expect(byName.get('model.layers.1.mlp.down_proj.weight')?.shape).toEqual([64, 160]);
    expect(byName.get('model.layers.0.self_attn.k_norm.weight')).toMatchObject({ shape: [16], dtypes: ['BF16', 'F32'] });
    expect(byName.has('lm_head.weight')).toBe(false);
    expect(expectedTensors({ ...TINY, tieWordEmbeddings: false }, 'bf16').at(-1)).toMatchObject({ name: 'lm_head.weight', shape: [320, 64] });
  });

  it('adds a weight_scale_inv per FP8 projection', () => {
    const fp8 = expectedTensors(TINY_FP8, 'fp8');
    expect(fp8).toHaveLength(1 + 2 * (11 + 7) + 1);
    const byName = new Map(fp8.map((t) => [t.name, t]));
    expect(byName.get('model.layers.0.mlp.gate_proj.weight')?.dtypes).toEqual(['F8_E4M3']);
    expect(byName.get('model.layers.0.mlp.gate_proj.weight_scale_inv')).toMatchObject({ shape: [2, 1], dtypes: ['F32', 'BF16', 'F16'] });
    expect(byName.get('model.layers.0.mlp.down_proj.weight_scale_inv')?.shape).toEqual([1, 2]);
    expect(byName.get('model.embed_tokens.weight')?.dtypes).toEqual(['BF16']);
    expect(LINEAR_PROJECTIONS).toHaveLength(7);
  });
});

describe('openCheckpoint', () => {
  it('opens a BF16 checkpoint and reads its tensors', async () => {
    const written = await writeCheckpoint(TINY);
    const checkpoint = await openCheckpoint(dir);
    try {
      expect(checkpoint.format).toBe('bf16');
      expect(checkpoint.config).toEqual(TINY);
      expect(checkpoint.store.sharded).toBe(false);
      const names = checkpoint.linearNames(1);
      expect(names['self_attn.q_proj']).toBe('model.layers.1.self_attn.q_proj.weight');
      expect(() => checkpoint.linearNames(2)).toThrow(/out of range/);
      expect(checkpoint.isFp8(names['mlp.up_proj'])).toBe(false);
      const embed = await checkpoint.readBf16('model.embed_tokens.weight');
      expect(embed).toBeInstanceOf(Uint16Array);
      expect(embed.length).toBe(320 * 64);
      const source = written.get('model.embed_tokens.weight')!.data;
      expect(Buffer.from(embed.buffer, embed.byteOffset, embed.byteLength).equals(Buffer.from(source))).toBe(true);
      const norm = await checkpoint.readF32('model.layers.0.self_attn.q_norm.weight');
      expect(norm.length).toBe(16);
      expect(norm[0]).toBeGreaterThan(0);
      expect(norm[1]! - norm[0]!).toBe(0.25);
      await expect(checkpoint.readFp8(names['mlp.up_proj'])).rejects.toThrow(/dtype is BF16, but readFp8 reads F8_E4M3/);
    } finally {
      await checkpoint.close();
    }
  });

  it('opens a sharded FP8 checkpoint and converts every scale dtype to float32', async () => {
    for (const scaleDtype of ['F32', 'BF16', 'F16'] as const) {
      await writeCheckpoint(TINY_FP8, { scaleDtype, maxShardBytes: 16_000 });
      const checkpoint = await openCheckpoint(dir);
      try {
        expect(checkpoint.format).toBe('fp8');
        expect(checkpoint.store.sharded).toBe(true);
        const name = checkpoint.linearNames(0)['mlp.gate_proj'];
        expect(checkpoint.isFp8(name)).toBe(true);
        const weight = await checkpoint.readFp8(name);
        expect(weight.shape).toEqual([160, 64]);
        expect(weight.scaleShape).toEqual([2, 1]);
        expect(weight.codes.length).toBe(160 * 64);
        expect(weight.scaleInv).toBeInstanceOf(Float32Array);
        expect(weight.scaleInv[1]! - weight.scaleInv[0]!).toBe(0.25);
        await expect(checkpoint.readBf16(name)).rejects.toThrow(/read FP8 weights with readFp8/);
        expect((await checkpoint.readBf16('model.norm.weight')).length).toBe(64);
      } finally {
        await checkpoint.close();
      }
    }
  });

  it('accepts F32 norms', async () => {
    const override = Object.fromEntries(
      expectedTensors(TINY, 'bf16')
        .filter((t) => t.role === 'norm')
        .map((t) => [t.name, { dtype: 'F32' as const }]),
    );
    await writeCheckpoint(TINY, { override });
    const checkpoint = await openCheckpoint(dir);
    const gain = await checkpoint.readF32('model.norm.weight');
    expect(gain[1]! - gain[0]!).toBe(0.25);
    await checkpoint.close();
  });

  it('accepts an untied lm_head, and ignores a tied copy and rotary buffers', async () => {
    await writeCheckpoint({ ...TINY, tieWordEmbeddings: false });
    await (await openCheckpoint(dir)).close();
    await writeCheckpoint(TINY, {
      extra: [
        { name: 'lm_head.weight', dtype: 'BF16', shape: [320, 64], data: new Uint8Array(320 * 64 * 2) },
        { name: 'model.layers.0.self_attn.rotary_emb.inv_freq', dtype: 'F32', shape: [8], data: new Uint8Array(32) },
      ],
    });
    await (await openCheckpoint(dir)).close();
  });

  it('honours modules_to_not_convert', async () => {
    const config: Qwen3Config = {
      ...TINY_FP8,
      quantization: { blockSize: [128, 128], activationScheme: 'dynamic', modulesToNotConvert: ['lm_head', 'model.layers.1.mlp.down_proj'] },
    };
    const expected = new Map(expectedTensors(config, 'fp8').map((t) => [t.name, t]));
    expect(expected.get('model.layers.1.mlp.down_proj.weight')?.dtypes).toEqual(['BF16']);
    expect(expected.has('model.layers.1.mlp.down_proj.weight_scale_inv')).toBe(false);
    expect(expected.get('model.layers.0.mlp.down_proj.weight')?.dtypes).toEqual(['F8_E4M3']);
    await writeCheckpoint(config);
    const checkpoint = await openCheckpoint(dir);
    expect(checkpoint.isFp8('model.layers.1.mlp.down_proj.weight')).toBe(false);
    expect((await checkpoint.readBf16('model.layers.1.mlp.down_proj.weight')).length).toBe(64 * 160);
    await checkpoint.close();
  });
});

describe('openCheckpoint refuses bad checkpoints, naming file and tensor', () => {
  it('a missing tensor', async () => {
    await writeCheckpoint(TINY, { omit: ['model.layers.1.self_attn.v_proj.weight'] });
    const error = await openError();
    expect(error.file).toBe(single());
    expect(error.options.tensor).toBe('model.layers.1.self_attn.v_proj.weight');
    expect(error.message).toContain(`${single()}: tensor 'model.layers.1.self_attn.v_proj.weight': tensor missing (expected BF16 [32, 64])`);
  });

  it('a missing tensor of a sharded checkpoint names the index', async () => {
    await writeCheckpoint(TINY, { omit: ['model.norm.weight'], maxShardBytes: 16_000 });
    const error = await openError();
    expect(error.file).toBe(join(dir, 'model.safetensors.index.json'));
    expect(error.message).toMatch(/tensor 'model\.norm\.weight': tensor missing \(expected BF16 or F32 \[64\]\)/);
  });

  it('a wrong shape, naming the shard that holds it', async () => {
    await writeCheckpoint(TINY, { override: { 'model.layers.0.mlp.up_proj.weight': { shape: [128, 64] } }, maxShardBytes: 16_000 });
    const error = await openError();
    expect(error.file).toMatch(/model-\d{5}-of-\d{5}\.safetensors$/);
    expect(error.message).toMatch(
      /tensor 'model\.layers\.0\.mlp\.up_proj\.weight': shape is \[128, 64\], expected \[160, 64\] \(\[intermediate_size, hidden_size\] from config\.json\)/,
    );
  });

  it('a wrong dtype', async () => {
    await writeCheckpoint(TINY, { override: { 'model.embed_tokens.weight': { dtype: 'F16' } } });
    const error = await openError();
    expect(error.message).toContain(`${single()}: tensor 'model.embed_tokens.weight': dtype is F16, expected BF16`);
  });

  it('an F16 norm (only BF16 or F32 norms are accepted)', async () => {
    await writeCheckpoint(TINY, { override: { 'model.layers.0.input_layernorm.weight': { dtype: 'F16' } } });
    expect((await openError()).message).toMatch(/input_layernorm\.weight': dtype is F16, expected BF16 or F32/);
  });

  it('a missing weight_scale_inv', async () => {
    const name = scaleInvName('model.layers.1.self_attn.o_proj.weight');
    await writeCheckpoint(TINY_FP8, { omit: [name] });
    const error = await openError();
    expect(error.options.tensor).toBe(name);
    expect(error.message).toMatch(/FP8 inverse-scale tensor missing \(expected F32 or BF16 or F16 \[1, 1\]\)/);
    expect(error.message).toMatch(/needs its inverse block scales/);
  });

  it('a weight_scale_inv of the wrong shape or dtype', async () => {
    const name = 'model.layers.0.mlp.up_proj.weight_scale_inv';
    await writeCheckpoint(TINY_FP8, { override: { [name]: { shape: [1, 1] } } });
    expect((await openError()).message).toMatch(/up_proj\.weight_scale_inv': shape is \[1, 1\], expected \[2, 1\] \(\[ceil\(intermediate_size\/128\), ceil\(hidden_size\/128\)\]/);
    await writeCheckpoint(TINY_FP8, { override: { [name]: { dtype: 'F8_E4M3' } } });
    expect((await openError()).message).toMatch(/up_proj\.weight_scale_inv': dtype is F8_E4M3, expected F32 or BF16 or F16/);
  });

  it('BF16 weights under an FP8 config, and FP8 weights under a BF16 config', async () => {
    await writeCheckpoint(TINY_FP8, { weightsFor: TINY });
    const bf16Weights = await openError();
    expect(bf16Weights.message).toMatch(/q_proj\.weight': dtype is BF16, expected F8_E4M3/);
    expect(bf16Weights.message).toMatch(/has an fp8 quantization_config/);
    expect(bf16Weights.message).toMatch(/and \d+ more problems/);

    await writeCheckpoint(TINY, { weightsFor: TINY_FP8 });
    const fp8Weights = await openError();
    expect(fp8Weights.message).toMatch(/q_proj\.weight': dtype is F8_E4M3, expected BF16/);
    expect(fp8Weights.message).toMatch(/no quantization_config/);
  });

  it('a config with more or fewer layers than the weights', async () => {
    await writeCheckpoint({ ...TINY, numLayers: 3 }, { weightsFor: TINY });
    const more = await openError();
    expect(more.message).toMatch(/tensor 'model\.layers\.2\.input_layernorm\.weight': tensor missing/);
    expect(more.message).toMatch(/says num_hidden_layers 3 but the weights have 2 layers/);

    await writeCheckpoint({ ...TINY, numLayers: 1 }, { weightsFor: TINY });
    const fewer = await openError();
    expect(fewer.message).toMatch(/tensor 'model\.layers\.1\.[a-z_.]+': unexpected tensor/);
    expect(fewer.message).toMatch(/says num_hidden_layers 1/);
  });

  it('an untied config without lm_head', async () => {
    await writeCheckpoint({ ...TINY, tieWordEmbeddings: false }, { weightsFor: TINY });
    const error = await openError();
    expect(error.message).toMatch(/tensor 'lm_head\.weight': tensor missing \(expected BF16 \[320, 64\]\)/);
    expect(error.message).toMatch(/tie_word_embeddings/);
  });

  it('a config of the wrong width', async () => {
    await writeCheckpoint({ ...TINY, hiddenSize: 128, numHeads: 8, numKvHeads: 4 }, { weightsFor: TINY });
    expect((await openError()).message).toMatch(
      /tensor 'model\.embed_tokens\.weight': shape is \[320, 64\], expected \[320, 128\] \(\[vocab_size, hidden_size\] from config\.json\)/,
    );
  });

  it('unexpected bias tensors', async () => {
    await writeCheckpoint(TINY, {
      extra: [{ name: 'model.layers.0.self_attn.q_proj.bias', dtype: 'BF16', shape: [64], data: new Uint8Array(128) }],
    });
    expect((await openError()).message).toMatch(/q_proj\.bias': unexpected tensor .*no bias/);
  });

  it('a bad config.json or a missing weights file', async () => {
    await writeCheckpoint(TINY);
    await writeFile(join(dir, 'config.json'), JSON.stringify({ ...toHfConfigJson(TINY), model_type: 'llama' }));
    expect((await openError()).message).toContain(`${join(dir, 'config.json')}: not a Qwen3 config: model_type is 'llama'`);
    await rm(single());
    await writeFile(join(dir, 'config.json'), JSON.stringify(toHfConfigJson(TINY)));
    expect((await openError()).message).toMatch(/has neither model\.safetensors nor model\.safetensors\.index\.json/);
  });
});
