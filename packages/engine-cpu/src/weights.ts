/**
 * The model's weights in SharedArrayBuffers, in their stored formats: BF16 stays 2 bytes per value, FP8 stays
 * 1 byte plus a float32 scale per 128×128 block. No dequantised copy of the model is ever made. Norm gains are
 * small and kept as float32.
 */
import type { KernelMode } from '@quantbench/core';
import {
  assertKernelMatchesCheckpoint,
  type Checkpoint,
  EMBED_TOKENS_NAME,
  FINAL_NORM_NAME,
  LM_HEAD_NAME,
  type LinearProjection,
  layerNormName,
  linearShape,
  type Qwen3Config,
} from '@quantbench/model';
import type { SharedWeight } from './pool/jobs.js';

/** A linear projection [outDim, inDim], registered with the thread pool as weight `id`. */
export interface LinearWeight {
  readonly id: number;
  readonly kind: 'bf16' | 'fp8';
  readonly outDim: number;
  readonly inDim: number;
}

export interface LayerWeights {
  readonly inputNorm: Float32Array;
  readonly postAttentionNorm: Float32Array;
  readonly qNorm: Float32Array;
  readonly kNorm: Float32Array;
  readonly linear: Record<LinearProjection, LinearWeight>;
}

export interface ModelWeights {
  readonly config: Qwen3Config;
  /** BF16 bits [vocab, hidden]: the embedding table (and, when tied, the lm_head weight). */
  readonly embedding: Uint16Array;
  readonly lmHead: LinearWeight;
  readonly layers: readonly LayerWeights[];
  readonly finalNorm: Float32Array;
  /** Everything the thread pool needs, indexed by LinearWeight.id. */
  readonly shared: readonly SharedWeight[];
  readonly bytes: number;
}

async function readShared(checkpoint: Checkpoint, name: string): Promise<SharedArrayBuffer> {
  const info = checkpoint.store.tensors.get(name);
  if (!info) throw new Error(`${checkpoint.dir}: tensor '${name}' is missing`);
  const buffer = new SharedArrayBuffer(info.byteLength);
  await checkpoint.store.readInto(name, new Uint8Array(buffer));
  return buffer;
}

export async function loadWeights(checkpoint: Checkpoint, kernel: KernelMode): Promise<ModelWeights> {
  assertKernelMatchesCheckpoint(checkpoint, kernel);
  const { config } = checkpoint;
  const shared: SharedWeight[] = [];
  let bytes = 0;

  const addLinear = async (name: string, outDim: number, inDim: number): Promise<LinearWeight> => {
    const id = shared.length;
    if (checkpoint.isFp8(name)) {
      const { scaleInv } = await checkpoint.readFp8(name);
      const scales = new SharedArrayBuffer(scaleInv.byteLength);
      new Float32Array(scales).set(scaleInv);
      const codes = await readShared(checkpoint, name);
      shared.push({ kind: 'fp8', codes, scaleInv: scales });
      bytes += codes.byteLength + scales.byteLength;
      return { id, kind: 'fp8', outDim, inDim };
    }
    const bits = await readShared(checkpoint, name);
    shared.push({ kind: 'bf16', bits });
    bytes += bits.byteLength;
    return { id, kind: 'bf16', outDim, inDim };
  };
  const readNorm = async (name: string): Promise<Float32Array> => {
    const values = await checkpoint.readF32(name);
    bytes += values.byteLength;
    return values;
  };

  const embeddingBuffer = await readShared(checkpoint, EMBED_TOKENS_NAME);
  shared.push({ kind: 'bf16', bits: embeddingBuffer });
  bytes += embeddingBuffer.byteLength;
  // Qwen3-4B ties lm_head to the embedding; an untied checkpoint brings its own BF16 lm_head.
  const lmHead = config.tieWordEmbeddings
    ? ({ id: 0, kind: 'bf16', outDim: config.vocabSize, inDim: config.hiddenSize } as const)
    : await addLinear(LM_HEAD_NAME, config.vocabSize, config.hiddenSize);

  const layers: LayerWeights[] = [];
  for (let layer = 0; layer < config.numLayers; layer++) {
    const names = checkpoint.linearNames(layer);
    const linear = {} as Record<LinearProjection, LinearWeight>;
    for (const [projection, name] of Object.entries(names) as [LinearProjection, string][]) {
      const [outDim, inDim] = linearShape(config, projection).shape;
      linear[projection] = await addLinear(name, outDim, inDim);
    }
    layers.push({
      inputNorm: await readNorm(layerNormName(layer, 'input_layernorm')),
      postAttentionNorm: await readNorm(layerNormName(layer, 'post_attention_layernorm')),
      qNorm: await readNorm(layerNormName(layer, 'self_attn.q_norm')),
      kNorm: await readNorm(layerNormName(layer, 'self_attn.k_norm')),
      linear,
    });
  }
  const finalNorm = await readNorm(FINAL_NORM_NAME);
  return { config, embedding: new Uint16Array(embeddingBuffer), lmHead, layers, finalNorm, shared, bytes };
}
