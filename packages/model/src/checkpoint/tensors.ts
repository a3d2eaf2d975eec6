import type { DType, WeightFormat } from '@quantbench/core';
import { FP8_BLOCK_SIZE, type Qwen3Config } from '../config/index.js';


/** The seven linear projections of a Qwen3 decoder layer, as suffixes after `model.layers.{i}.`. */
export const LINEAR_PROJECTIONS = [
  'self_attn.q_proj',
  'self_attn.k_proj',
  'self_attn.v_proj',
  'self_attn.o_proj',
  'mlp.gate_proj',
  'mlp.up_proj',
  'mlp.down_proj',
] as const;
export type LinearProjection = (typeof LINEAR_PROJECTIONS)[number];

/** The four RMSNorm gains of a Qwen3 decoder layer, as suffixes after `model.layers.{i}.`. */
export const LAYER_NORMS = ['input_layernorm', 'post_attention_layernorm', 'self_attn.q_norm', 'self_attn.k_norm'] as const;
export type LayerNorm = (typeof LAYER_NORMS)[number];

export const EMBED_TOKENS_NAME = 'model.embed_tokens.weight';
export const FINAL_NORM_NAME = 'model.norm.weight';
export const LM_HEAD_NAME = 'lm_head.weight';
/** FP8 weights `X.weight` carry their inverse block scales in `X.weight_scale_inv`. */
export const SCALE_INV_SUFFIX = '_scale_inv';

/**
 * Dtypes accepted for RMSNorm gains. BF16 is what Hugging Face exports; F32 is accepted too because some
 * exporters keep norms in float32 (they are tiny and read with readF32 either way).
 */
export const NORM_DTYPES: readonly DType[] = ['BF16', 'F32'];
/** Dtypes accepted for FP8 inverse scales: published FP8 checkpoints use F32, BF16 or F16. */
export const SCALE_INV_DTYPES: readonly DType[] = ['F32', 'BF16', 'F16'];

export type TensorRole = 'embedding' | 'norm' | 'linear' | 'scale_inv' | 'lm_head';

/** A tensor a Qwen3 checkpoint must hold, with the shape the config implies and the dtypes accepted. */
export interface ExpectedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  /** What each dimension is, in config.json terms, e.g. `['vocab_size', 'hidden_size']`. */
  readonly dims: readonly string[];
  readonly dtypes: readonly DType[];
  readonly role: TensorRole;
  /** Decoder layer index, or null for embeddings, the final norm and lm_head. */
  readonly layer: number | null;
}

export function layerPrefix(layer: number): string {
  return `model.layers.${layer}.`;
}

export function linearWeightName(layer: number, projection: LinearProjection): string {
  return `${layerPrefix(layer)}${projection}.weight`;
}

export function layerNormName(layer: number, norm: LayerNorm): string {
  return `${layerPrefix(layer)}${norm}.weight`;
}

/** `X.weight` → `X.weight_scale_inv`. */
export function scaleInvName(weightName: string): string {
  return `${weightName}${SCALE_INV_SUFFIX}`;
}

/** The weight names of a layer's linear projections, by projection. */
export function linearNames(layer: number): Record<LinearProjection, string> {
  const names = {} as Record<LinearProjection, string>;
  for (const projection of LINEAR_PROJECTIONS) names[projection] = linearWeightName(layer, projection);
  return names;
}

/** [out, in] of a projection's weight, and the config.json terms of each. */
export function linearShape(config: Qwen3Config, projection: LinearProjection): { shape: [number, number]; dims: [string, string] } {
  const q = config.numHeads * config.headDim;
  const kv = config.numKvHeads * config.headDim;
  switch (projection) {
    case 'self_attn.q_proj':
      return { shape: [q, config.hiddenSize], dims: ['num_attention_heads·head_dim', 'hidden_size'] };
    case 'self_attn.k_proj':
    case 'self_attn.v_proj':
      return { shape: [kv, config.hiddenSize], dims: ['num_key_value_heads·head_dim', 'hidden_size'] };
    case 'self_attn.o_proj':
      return { shape: [config.hiddenSize, q], dims: ['hidden_size', 'num_attention_heads·head_dim'] };
    case 'mlp.gate_proj':
    case 'mlp.up_proj':
      return { shape: [config.intermediateSize, config.hiddenSize], dims: ['intermediate_size', 'hidden_size'] };
    case 'mlp.down_proj':
      return { shape: [config.hiddenSize, config.intermediateSize], dims: ['hidden_size', 'intermediate_size'] };
  }
}

/** The FP8 block size of a config ([128, 128] unless it says otherwise). */
export function blockSizeOf(config: Qwen3Config): readonly [number, number] {
  return config.quantization?.blockSize ?? FP8_BLOCK_SIZE;
}

/** [ceil(out / blockRows), ceil(in / blockCols)]: the shape of a weight's inverse-scale tensor. */
export function scaleInvShape(weightShape: readonly [number, number], blockSize: readonly [number, number]): [number, number] {
  return [Math.ceil(weightShape[0] / blockSize[0]), Math.ceil(weightShape[1] / blockSize[1])];
}

/**
 * Whether a linear weight is stored as FP8 in `format`: every linear projection is, except modules named in
 * `modules_to_not_convert` (matched as Hugging Face does: the entry is a substring of the module name).
 */
export function isFp8Weight(config: Qwen3Config, format: WeightFormat, weightName: string): boolean {
  if (format !== 'fp8') return false;
  if (!/^model\.layers\.\d+\.(self_attn|mlp)\.[a-z_]+_proj\.weight$/.test(weightName)) return false;
  const module = weightName.slice(0, -'.weight'.length);
  const skip = config.quantization?.modulesToNotConvert ?? [];
  return !skip.some((entry) => entry !== '' && module.includes(entry));
}

/**
 * Every tensor a Qwen3 checkpoint with this config and weight format must hold, in model order: embeddings;
 * per layer the two norms, the seven projections (each followed by its `_scale_inv` when FP8) and q/k norms;
 * the final norm; lm_head when embeddings are not tied. Embeddings, norms and lm_head are BF16 in both formats.
 */
export function expectedTensors(config: Qwen3Config, format: WeightFormat): ExpectedTensor[] {
  const { hiddenSize, vocabSize, headDim } = config;
  const blockSize = blockSizeOf(config);
  const out: ExpectedTensor[] = [
    { name: EMBED_TOKENS_NAME, shape: [vocabSize, hiddenSize], dims: ['vocab_size', 'hidden_size'], dtypes: ['BF16'], role: 'embedding', layer: null },
  ];
  const norm = (name: string, size: number, dim: string, layer: number | null): ExpectedTensor => ({
    name,
    shape: [size],
    dims: [dim],
    dtypes: NORM_DTYPES,
    role: 'norm',
    layer,
  });
  for (let layer = 0; layer < config.numLayers; layer++) {
    out.push(norm(layerNormName(layer, 'input_layernorm'), hiddenSize, 'hidden_size', layer));
    out.push(norm(layerNormName(layer, 'post_attention_layernorm'), hiddenSize, 'hidden_size', layer));
    for (const projection of LINEAR_PROJECTIONS) {
      const name = linearWeightName(layer, projection);
      const { shape, dims } = linearShape(config, projection);
      if (isFp8Weight(config, format, name)) {
        out.push({ name, shape, dims, dtypes: ['F8_E4M3'], role: 'linear', layer });
        out.push({
          name: scaleInvName(name),
          shape: scaleInvShape(shape, blockSize),
          dims: [`ceil(${dims[0]}/${blockSize[0]})`, `ceil(${dims[1]}/${blockSize[1]})`],
          dtypes: SCALE_INV_DTYPES,
          role: 'scale_inv',
          layer,
        });
      } else {
        out.push({ name, shape, dims, dtypes: ['BF16'], role: 'linear', layer });
      }
    }
    out.push(norm(layerNormName(layer, 'self_attn.q_norm'), headDim, 'head_dim', layer));
    out.push(norm(layerNormName(layer, 'self_attn.k_norm'), headDim, 'head_dim', layer));
  }
  out.push(norm(FINAL_NORM_NAME, hiddenSize, 'hidden_size', null));
  if (!config.tieWordEmbeddings) {
    out.push({ name: LM_HEAD_NAME, shape: [vocabSize, hiddenSize], dims: ['vocab_size', 'hidden_size'], dtypes: ['BF16'], role: 'lm_head', layer: null });
  }
  return out;
}
