import { z } from 'zod';
import { ModelFileError } from '../errors.js';
import { formatZodIssues } from '../safetensors/zod-issues.js';
import { errorMessage, isNotFound, modelFilePath, openModelSource, type ModelFiles, type ModelSource } from '../files/model-files.js';

export const QWEN3_ARCHITECTURE = 'Qwen3ForCausalLM';
export const QWEN3_MODEL_TYPE = 'qwen3';
/** The only FP8 block size quantbench accepts (that of the published Qwen3 FP8 checkpoints). */
export const FP8_BLOCK_SIZE: readonly [number, number] = [128, 128];
export const CONFIG_FILE_NAME = 'config.json';

/** YaRN context extension; the only rope_scaling quantbench accepts (besides none). */
export interface YarnRopeScaling {
  readonly type: 'yarn';
  readonly factor: number;
  readonly originalMaxPositions: number;
  /** null when the config leaves it to the default (32). */
  readonly betaFast: number | null;
  /** null when the config leaves it to the default (1). */
  readonly betaSlow: number | null;
  /** null when the config leaves it to the default (0.1·ln(factor) + 1). */
  readonly attentionFactor: number | null;
}

export interface Fp8Quantization {
  /** [rows, columns] of one weight block with its own scale: always [128, 128]. */
  readonly blockSize: readonly [number, number];
  readonly activationScheme: 'dynamic';
  /**
   * `modules_to_not_convert` (e.g. `['lm_head']`): modules whose name contains one of these strings stay BF16.
   * Absent or empty: every linear projection is FP8.
   */
  readonly modulesToNotConvert?: readonly string[];
}

/** A validated Qwen3 config.json as plain camelCase data. */
export interface Qwen3Config {
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly ropeScaling: YarnRopeScaling | null;
  readonly tieWordEmbeddings: boolean;
  readonly quantization: Fp8Quantization | null;
}

const positiveInt = z.int().positive();
const positiveNumber = z.number().positive();

const yarnSchema = z.looseObject({
  rope_type: z.string().optional(),
  type: z.string().optional(),
  factor: z.number().min(1),
  original_max_position_embeddings: positiveInt,
  beta_fast: positiveNumber.nullish(),
  beta_slow: positiveNumber.nullish(),
  attention_factor: positiveNumber.nullish(),
});

const quantizationSchema = z.looseObject({
  quant_method: z.literal('fp8', { error: "quantbench reads only quant_method 'fp8'" }),
  fmt: z.literal('e4m3', { error: "only fmt 'e4m3' is supported" }).optional(),
  activation_scheme: z.literal('dynamic', {
    error: "only activation_scheme 'dynamic' is supported (static activation scales are not)",
  }),
  weight_block_size: z
    .tuple([positiveInt, positiveInt], { error: 'expected [rows, columns], two positive integers' })
    .refine((size) => size[0] === FP8_BLOCK_SIZE[0] && size[1] === FP8_BLOCK_SIZE[1], {
      error: 'only weight_block_size [128, 128] is supported (the Qwen3 FP8 block size)',
    }),
  modules_to_not_convert: z.array(z.string()).nullish(),
});

const configSchema = z
  .looseObject({
    architectures: z.array(z.string()),
    model_type: z.literal(QWEN3_MODEL_TYPE),
    hidden_size: positiveInt,
    intermediate_size: positiveInt,
    num_hidden_layers: positiveInt,
    num_attention_heads: positiveInt,
    num_key_value_heads: positiveInt,
    head_dim: positiveInt.optional(),
    vocab_size: positiveInt,
    max_position_embeddings: positiveInt,
    rms_norm_eps: z.number().positive().lt(1),
    rope_theta: positiveNumber.optional(),
    rope_parameters: z.looseObject({ rope_theta: positiveNumber.optional() }).nullish(),
    rope_scaling: z.looseObject({ rope_type: z.string().optional(), type: z.string().optional() }).nullish(),
    tie_word_embeddings: z.boolean().optional(),
    torch_dtype: z.literal('bfloat16', { error: "expected 'bfloat16' (Qwen3 weights are BF16)" }).optional(),
    dtype: z.literal('bfloat16', { error: "expected 'bfloat16' (Qwen3 weights are BF16)" }).optional(),
    attention_bias: z.literal(false, { error: 'must be false: Qwen3 attention has no bias' }).optional(),
    hidden_act: z.literal('silu', { error: "expected 'silu' (Qwen3's MLP activation)" }),
    use_sliding_window: z.literal(false, { error: 'sliding-window attention is not supported' }).optional(),
    quantization_config: quantizationSchema.nullish(),
  })
  .superRefine((raw, ctx) => {
    if (raw.num_attention_heads % raw.num_key_value_heads !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['num_key_value_heads'],
        message: `must divide num_attention_heads (${raw.num_attention_heads}) exactly`,
      });
    }
    if (raw.head_dim === undefined && raw.hidden_size % raw.num_attention_heads !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['head_dim'],
        message: `missing, and hidden_size (${raw.hidden_size}) is not a multiple of num_attention_heads (${raw.num_attention_heads}); set head_dim`,
      });
    }
    const headDim = raw.head_dim ?? raw.hidden_size / raw.num_attention_heads;
    if (Number.isInteger(headDim) && headDim % 2 !== 0) {
      ctx.addIssue({ code: 'custom', path: ['head_dim'], message: `must be even for rotary embeddings, is ${headDim}` });
    }
    if (raw.rope_theta === undefined && raw.rope_parameters?.rope_theta === undefined) {
      ctx.addIssue({ code: 'custom', path: ['rope_theta'], message: 'missing (expected a positive number, e.g. 1000000)' });
    }
    if (raw.torch_dtype === undefined && raw.dtype === undefined) {
      ctx.addIssue({ code: 'custom', path: ['torch_dtype'], message: "missing (expected 'bfloat16')" });
    }
  });

function fail(file: string, problem: string, fix: string): never {
  throw new ModelFileError(file, problem, { fix });
}

function parseRopeScaling(raw: unknown, file: string, maxPositions: number): YarnRopeScaling | null {
  if (raw === null || raw === undefined) return null;
  const record = raw as { rope_type?: string; type?: string };
  const kind = record.rope_type ?? record.type;
  if (record.rope_type !== undefined && record.type !== undefined && record.rope_type !== record.type) {
    fail(file, `rope_scaling has rope_type '${record.rope_type}' but type '${record.type}'`, 'keep one of them');
  }
  if (kind === undefined) {
    fail(file, 'rope_scaling: missing rope_type (expected \'yarn\', or rope_scaling: null)', "set rope_scaling.rope_type to 'yarn' or rope_scaling to null");
  }
  if (kind === 'default') return null;
  if (kind !== 'yarn') {
    fail(
      file,
      `rope_scaling.rope_type: '${kind}' is not supported (expected 'yarn', or rope_scaling: null)`,
      "use rope_scaling: null (native context) or a 'yarn' rope_scaling as in the Qwen3 model card",
    );
  }
  const parsed = yarnSchema.safeParse(raw);
  if (!parsed.success) {
    fail(
      file,
      `invalid Qwen3 config: ${formatZodIssues(parsed.error, raw, 'rope_scaling').join('; ')}`,
      'fix rope_scaling, e.g. {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}',
    );
  }
  const yarn = parsed.data;
  if (yarn.original_max_position_embeddings > maxPositions) {
    fail(
      file,
      `rope_scaling.original_max_position_embeddings (${yarn.original_max_position_embeddings}) is larger than max_position_embeddings (${maxPositions})`,
      'set original_max_position_embeddings to the pre-training context (32768 for Qwen3)',
    );
  }
  return {
    type: 'yarn',
    factor: yarn.factor,
    originalMaxPositions: yarn.original_max_position_embeddings,
    betaFast: yarn.beta_fast ?? null,
    betaSlow: yarn.beta_slow ?? null,
    attentionFactor: yarn.attention_factor ?? null,
  };
}

/**
 * Validates a parsed config.json as a dense Qwen3 model (Qwen3ForCausalLM, model_type 'qwen3') and returns
 * camelCase plain data. Unknown keys are ignored. Every problem is a ModelFileError naming `file`; schema
 * problems are listed together, one per field with its path and the value found.
 */
export function parseQwen3Config(json: unknown, file: string): Qwen3Config {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    fail(file, `config should be a JSON object, found ${json === null ? 'null' : Array.isArray(json) ? 'an array' : typeof json}`, 'use the config.json of a Qwen3 checkpoint');
  }
  const record = json as Record<string, unknown>;
  if (record.model_type !== QWEN3_MODEL_TYPE) {
    fail(
      file,
      `not a Qwen3 config: model_type is ${record.model_type === undefined ? 'missing' : `'${String(record.model_type)}'`} (expected '${QWEN3_MODEL_TYPE}')`,
      'use a dense Qwen3 checkpoint such as Qwen/Qwen3-4B-Instruct-2507',
    );
  }
  const architectures = record.architectures;
  if (!Array.isArray(architectures) || !architectures.includes(QWEN3_ARCHITECTURE)) {
    fail(
      file,
      `not a Qwen3 causal-LM config: architectures is ${JSON.stringify(architectures)} (expected it to include '${QWEN3_ARCHITECTURE}')`,
      `set "architectures": ["${QWEN3_ARCHITECTURE}"] or use a Qwen3 causal-LM checkpoint`,
    );
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    const lines = formatZodIssues(parsed.error, json);
    fail(
      file,
      `invalid Qwen3 config (${lines.length} problem${lines.length === 1 ? '' : 's'}):\n  - ${lines.join('\n  - ')}\n`,
      'correct the listed fields (compare with the config.json of Qwen/Qwen3-4B-Instruct-2507)',
    );
  }
  const raw = parsed.data;
  const quant = raw.quantization_config;
  const modules = quant?.modules_to_not_convert ?? [];
  return {
    hiddenSize: raw.hidden_size,
    intermediateSize: raw.intermediate_size,
    numLayers: raw.num_hidden_layers,
    numHeads: raw.num_attention_heads,
    numKvHeads: raw.num_key_value_heads,
    headDim: raw.head_dim ?? raw.hidden_size / raw.num_attention_heads,
    vocabSize: raw.vocab_size,
    maxPositions: raw.max_position_embeddings,
    rmsNormEps: raw.rms_norm_eps,
    ropeTheta: (raw.rope_theta ?? raw.rope_parameters?.rope_theta) as number,
    ropeScaling: parseRopeScaling(raw.rope_scaling, file, raw.max_position_embeddings),
    tieWordEmbeddings: raw.tie_word_embeddings ?? false,
    quantization:
      quant === null || quant === undefined
        ? null
        : {
            blockSize: [quant.weight_block_size[0], quant.weight_block_size[1]],
            activationScheme: 'dynamic',
            ...(modules.length > 0 ? { modulesToNotConvert: [...modules] } : {}),
          },
  };
}

/** Reads and validates `<dir>/config.json`; `dir` is a directory path (Node) or a ModelFiles (e.g. `httpModelFiles(url)`). */
export async function readQwen3Config(dir: ModelSource): Promise<Qwen3Config> {
  const { files, owned } = await openModelSource(dir);
  try {
    return await readQwen3ConfigFrom(files);
  } finally {
    if (owned) await files.close?.();
  }
}

async function readQwen3ConfigFrom(files: ModelFiles): Promise<Qwen3Config> {
  const file = modelFilePath(files, CONFIG_FILE_NAME);
  let text: string;
  try {
    text = await files.readText(CONFIG_FILE_NAME);
  } catch (error) {
    fail(file, isNotFound(error) ? 'not found' : `cannot read (${errorMessage(error)})`, 'download config.json with the checkpoint');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    fail(file, `is not valid JSON (${(error as Error).message})`, 'download config.json again');
  }
  return parseQwen3Config(json, file);
}

/** The Hugging Face token ids of Qwen3 instruct models (<|endoftext|>, <|im_end|>). */
const QWEN3_BOS_TOKEN_ID = 151643;
const QWEN3_EOS_TOKEN_ID = 151645;
const TRANSFORMERS_VERSION = '4.51.0';

/**
 * The config as Hugging Face writes it (keys sorted, as in Qwen3-4B's config.json), for synthetic checkpoints.
 * `parseQwen3Config(toHfConfigJson(c))` gives back `c`.
 */
export function toHfConfigJson(config: Qwen3Config): Record<string, unknown> {
  const scaling = config.ropeScaling;
  const quant = config.quantization;
  const json: Record<string, unknown> = {
    architectures: [QWEN3_ARCHITECTURE],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: QWEN3_BOS_TOKEN_ID,
    eos_token_id: QWEN3_EOS_TOKEN_ID,
    head_dim: config.headDim,
    hidden_act: 'silu',
    hidden_size: config.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: config.intermediateSize,
    max_position_embeddings: config.maxPositions,
    max_window_layers: config.numLayers,
    model_type: QWEN3_MODEL_TYPE,
    num_attention_heads: config.numHeads,
    num_hidden_layers: config.numLayers,
    num_key_value_heads: config.numKvHeads,
    ...(quant === null
      ? {}
      : {
          quantization_config: {
            activation_scheme: quant.activationScheme,
            fmt: 'e4m3',
            modules_to_not_convert: quant.modulesToNotConvert === undefined ? null : [...quant.modulesToNotConvert],
            quant_method: 'fp8',
            weight_block_size: [quant.blockSize[0], quant.blockSize[1]],
          },
        }),
    rms_norm_eps: config.rmsNormEps,
    rope_scaling:
      scaling === null
        ? null
        : {
            ...(scaling.attentionFactor === null ? {} : { attention_factor: scaling.attentionFactor }),
            ...(scaling.betaFast === null ? {} : { beta_fast: scaling.betaFast }),
            ...(scaling.betaSlow === null ? {} : { beta_slow: scaling.betaSlow }),
            factor: scaling.factor,
            original_max_position_embeddings: scaling.originalMaxPositions,
            rope_type: 'yarn',
          },
    rope_theta: config.ropeTheta,
    sliding_window: null,
    tie_word_embeddings: config.tieWordEmbeddings,
    torch_dtype: 'bfloat16',
    transformers_version: TRANSFORMERS_VERSION,
    use_cache: true,
    use_sliding_window: false,
    vocab_size: config.vocabSize,
  };
  return json;
}
