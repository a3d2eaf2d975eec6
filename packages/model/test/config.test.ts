import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelFileError } from '../src/errors.js';
import { parseQwen3Config, readQwen3Config, toHfConfigJson, type Qwen3Config } from '../src/config/index.js';

const FILE = '/models/qwen3/config.json';

/** The config.json of Qwen/Qwen3-4B-Instruct-2507. */
const QWEN3_4B = {
  architectures: ['Qwen3ForCausalLM'],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 151643,
  eos_token_id: 151645,
  head_dim: 128,
  hidden_act: 'silu',
  hidden_size: 2560,
  initializer_range: 0.02,
  intermediate_size: 9728,
  max_position_embeddings: 262144,
  max_window_layers: 36,
  model_type: 'qwen3',
  num_attention_heads: 32,
  num_hidden_layers: 36,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-6,
  rope_scaling: null,
  rope_theta: 5000000,
  sliding_window: null,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  transformers_version: '4.51.0',
  use_cache: true,
  use_sliding_window: false,
  vocab_size: 151936,
};

const FP8_QUANT = {
  activation_scheme: 'dynamic',
  modules_to_not_convert: ['lm_head'],
  fmt: 'e4m3',
  quant_method: 'fp8',
  weight_block_size: [128, 128],
};

const EXPECTED_4B: Qwen3Config = {
  hiddenSize: 2560,
  intermediateSize: 9728,
  numLayers: 36,
  numHeads: 32,
  numKvHeads: 8,
  headDim: 128,
  vocabSize: 151936,
  maxPositions: 262144,
  rmsNormEps: 1e-6,
  ropeTheta: 5000000,
  ropeScaling: null,
  tieWordEmbeddings: true,
  quantization: null,
};

function parseError(json: unknown): ModelFileError {
  try {
    parseQwen3Config(json, FILE);
  } catch (error) {
    expect(error).toBeInstanceOf(ModelFileError);
    expect((error as Error).message.startsWith(`${FILE}: `)).toBe(true);
    expect((error as Error).message).toMatch(/Fix: /);
    return error as ModelFileError;
  }
  throw new Error('expected parseQwen3Config to throw');
}

describe('parseQwen3Config', () => {
  it('reads the real Qwen3-4B-2507 config', () => {
    expect(parseQwen3Config(QWEN3_4B, FILE)).toEqual(EXPECTED_4B);
  });

  it('passes unknown keys through and defaults head_dim to hidden/heads', () => {
    const { head_dim: _, ...rest } = QWEN3_4B;
    const config = parseQwen3Config({ ...rest, some_new_key: { deep: [1] } }, FILE);
    expect(config.headDim).toBe(80);
  });

  it('refuses a non-Qwen3 config clearly', () => {
    const error = parseError({ ...QWEN3_4B, model_type: 'llama', architectures: ['LlamaForCausalLM'] });
    expect(error.message).toMatch(/not a Qwen3 config: model_type is 'llama'/);
    expect(parseError({ ...QWEN3_4B, model_type: 'qwen3_moe' }).message).toMatch(/model_type is 'qwen3_moe'/);
    expect(parseError({ ...QWEN3_4B, architectures: ['Qwen3ForSequenceClassification'] }).message).toMatch(
      /architectures is \["Qwen3ForSequenceClassification"\] \(expected it to include 'Qwen3ForCausalLM'\)/,
    );
    expect(parseError([1]).message).toMatch(/should be a JSON object, found an array/);
  });

  it('refuses kv heads that do not divide heads', () => {
    const error = parseError({ ...QWEN3_4B, num_key_value_heads: 6 });
    expect(error.message).toMatch(/num_key_value_heads: must divide num_attention_heads \(32\) exactly \(found 6\)/);
  });

  it('lists every bad field with its path and value in one message', () => {
    const error = parseError({ ...QWEN3_4B, hidden_size: -1, vocab_size: '151936', attention_bias: true });
    const text = error.message;
    expect(text).toMatch(/invalid Qwen3 config \(3 problems\)/);
    expect(text).toMatch(/hidden_size: .*\(found -1\)/);
    expect(text).toMatch(/vocab_size: .*expected number.*\(found "151936"\)/);
    expect(text).toMatch(/attention_bias: must be false: Qwen3 attention has no bias \(found true\)/);
  });

  it('reports cross-field problems (once the fields themselves are valid)', () => {
    const { rope_theta: _, torch_dtype: __, ...rest } = QWEN3_4B;
    const text = parseError(rest).message;
    expect(text).toMatch(/invalid Qwen3 config \(2 problems\)/);
    expect(text).toMatch(/rope_theta: missing/);
    expect(text).toMatch(/torch_dtype: missing \(expected 'bfloat16'\)/);
    expect(parseQwen3Config({ ...rest, dtype: 'bfloat16', rope_parameters: { rope_type: 'default', rope_theta: 5000000 } }, FILE)).toEqual(EXPECTED_4B);
  });

  it('reports a missing field as missing', () => {
    const { intermediate_size: _, ...rest } = QWEN3_4B;
    expect(parseError(rest).message).toMatch(/intermediate_size: missing \(expected number\)/);
  });

  it('refuses other dtypes, activations and sliding windows', () => {
    expect(parseError({ ...QWEN3_4B, torch_dtype: 'float16' }).message).toMatch(/torch_dtype: expected 'bfloat16'/);
    expect(parseError({ ...QWEN3_4B, hidden_act: 'gelu' }).message).toMatch(/hidden_act: expected 'silu'/);
    expect(parseError({ ...QWEN3_4B, use_sliding_window: true }).message).toMatch(/use_sliding_window: sliding-window/);
  });

  it('accepts the newer "dtype" key instead of torch_dtype', () => {
    const { torch_dtype: _, ...rest } = QWEN3_4B;
    expect(parseQwen3Config({ ...rest, dtype: 'bfloat16' }, FILE)).toEqual(EXPECTED_4B);
  });

  describe('quantization_config', () => {
    it('reads the FP8 config of Qwen3-4B-Instruct-2507-FP8', () => {
      const config = parseQwen3Config({ ...QWEN3_4B, quantization_config: FP8_QUANT }, FILE);
      expect(config.quantization).toEqual({ blockSize: [128, 128], activationScheme: 'dynamic', modulesToNotConvert: ['lm_head'] });
    });

    it('accepts modules_to_not_convert null or absent, and no fmt', () => {
      const { modules_to_not_convert: _, fmt: __, ...bare } = FP8_QUANT;
      for (const quant of [{ ...FP8_QUANT, modules_to_not_convert: null }, bare]) {
        expect(parseQwen3Config({ ...QWEN3_4B, quantization_config: quant }, FILE).quantization).toEqual({
          blockSize: [128, 128],
          activationScheme: 'dynamic',
        });
      }
      expect(parseQwen3Config({ ...QWEN3_4B, quantization_config: null }, FILE).quantization).toBeNull();
    });

    it('refuses other block sizes', () => {
      const bad = (size: unknown): string => parseError({ ...QWEN3_4B, quantization_config: { ...FP8_QUANT, weight_block_size: size } }).message;
      expect(bad([64, 64])).toMatch(/quantization_config\.weight_block_size: only weight_block_size \[128, 128\] is supported.*\(found \[64,64\]\)/);
      expect(bad([128])).toMatch(/quantization_config\.weight_block_size/);
      expect(bad([128, 0])).toMatch(/quantization_config\.weight_block_size\[1\]/);
      expect(bad(null)).toMatch(/quantization_config\.weight_block_size/);
    });

    it('refuses other methods, formats and activation schemes', () => {
      const bad = (patch: object): string => parseError({ ...QWEN3_4B, quantization_config: { ...FP8_QUANT, ...patch } }).message;
      expect(bad({ quant_method: 'awq' })).toMatch(/quantization_config\.quant_method: quantbench reads only quant_method 'fp8' \(found "awq"\)/);
      expect(bad({ fmt: 'e5m2' })).toMatch(/quantization_config\.fmt: only fmt 'e4m3'/);
      expect(bad({ activation_scheme: 'static' })).toMatch(/quantization_config\.activation_scheme: only activation_scheme 'dynamic'/);
    });
  });

  describe('rope_scaling', () => {
    it('reads YaRN (rope_type or type)', () => {
      const yarn = { rope_type: 'yarn', factor: 4.0, original_max_position_embeddings: 32768 };
      const config = parseQwen3Config({ ...QWEN3_4B, max_position_embeddings: 131072, rope_scaling: yarn }, FILE);
      expect(config.ropeScaling).toEqual({
        type: 'yarn',
        factor: 4,
        originalMaxPositions: 32768,
        betaFast: null,
        betaSlow: null,
        attentionFactor: null,
      });
      const legacy = { type: 'yarn', factor: 2, original_max_position_embeddings: 32768, beta_fast: 32, beta_slow: 1, attention_factor: 1.07 };
      expect(parseQwen3Config({ ...QWEN3_4B, rope_scaling: legacy }, FILE).ropeScaling).toEqual({
        type: 'yarn',
        factor: 2,
        originalMaxPositions: 32768,
        betaFast: 32,
        betaSlow: 1,
        attentionFactor: 1.07,
      });
    });

    it("treats rope_type 'default' as none", () => {
      expect(parseQwen3Config({ ...QWEN3_4B, rope_scaling: { rope_type: 'default' } }, FILE).ropeScaling).toBeNull();
    });

    it('refuses linear and dynamic scaling, and bad YaRN fields', () => {
      expect(parseError({ ...QWEN3_4B, rope_scaling: { type: 'linear', factor: 2 } }).message).toMatch(
        /rope_scaling\.rope_type: 'linear' is not supported \(expected 'yarn', or rope_scaling: null\)/,
      );
      expect(parseError({ ...QWEN3_4B, rope_scaling: { rope_type: 'dynamic', factor: 2 } }).message).toMatch(/'dynamic' is not supported/);
      expect(parseError({ ...QWEN3_4B, rope_scaling: { rope_type: 'yarn', factor: 4 } }).message).toMatch(
        /rope_scaling\.original_max_position_embeddings: missing/,
      );
      expect(
        parseError({ ...QWEN3_4B, rope_scaling: { rope_type: 'yarn', factor: 0.5, original_max_position_embeddings: 32768 } }).message,
      ).toMatch(/rope_scaling\.factor: .*\(found 0\.5\)/);
      expect(parseError({ ...QWEN3_4B, rope_scaling: { rope_type: 'yarn', type: 'linear', factor: 4 } }).message).toMatch(
        /rope_type 'yarn' but type 'linear'/,
      );
    });
  });
});

describe('toHfConfigJson', () => {
  it('writes the real Qwen3-4B config.json back', () => {
    expect(toHfConfigJson(parseQwen3Config(QWEN3_4B, FILE))).toEqual(QWEN3_4B);
    expect(Object.keys(toHfConfigJson(EXPECTED_4B))).toEqual(Object.keys(QWEN3_4B));
  });

  it('round-trips FP8 and YaRN configs', () => {
    const configs: Qwen3Config[] = [
      { ...EXPECTED_4B, quantization: { blockSize: [128, 128], activationScheme: 'dynamic' } },
      { ...EXPECTED_4B, quantization: { blockSize: [128, 128], activationScheme: 'dynamic', modulesToNotConvert: ['lm_head'] } },
      {
        ...EXPECTED_4B,
        tieWordEmbeddings: false,
        ropeScaling: { type: 'yarn', factor: 4, originalMaxPositions: 32768, betaFast: 32, betaSlow: null, attentionFactor: null },
      },
    ];
    for (const config of configs) expect(parseQwen3Config(toHfConfigJson(config), FILE)).toEqual(config);
    expect(toHfConfigJson(configs[1]!).quantization_config).toEqual(FP8_QUANT);
  });
});

describe('readQwen3Config', () => {
  it('reads config.json from a directory, naming the file in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qb-config-'));
    try {
      const file = join(dir, 'config.json');
      await expect(readQwen3Config(dir)).rejects.toThrow(`${file}: not found`);
      await writeFile(file, '{"model_type": ');
      await expect(readQwen3Config(dir)).rejects.toThrow(new RegExp(`${file}: is not valid JSON`));
      await writeFile(file, JSON.stringify(QWEN3_4B, null, 2));
      expect(await readQwen3Config(dir)).toEqual(EXPECTED_4B);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
