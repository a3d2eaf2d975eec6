/**
 * The checkpoint's tensors in GPU buffers, in their stored formats: BF16 as packed u32 pairs, FP8 as packed
 * u32 quads of e4m3 codes plus float32 block scales. Nothing is dequantised on upload. A tensor larger than the
 * device's largest storage binding (the Qwen3-4B embedding is 778 MB) is split into row chunks.
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
import type { GpuContext } from './gpu/index.js';

export type GpuLinear =
  | { readonly kind: 'bf16'; readonly weight: GPUBuffer; readonly outDim: number; readonly inDim: number }
  | { readonly kind: 'fp8'; readonly weight: GPUBuffer; readonly scales: GPUBuffer; readonly outDim: number; readonly inDim: number };

/** Rows [rowStart, rowStart + rows) of a BF16 [rows, hidden] table. */
export interface TableChunk {
  readonly buffer: GPUBuffer;
  readonly rowStart: number;
  readonly rows: number;
}

export interface GpuLayer {
  readonly inputNorm: GPUBuffer;
  readonly postAttentionNorm: GPUBuffer;
  /** The q norm's weights then the k norm's, f32 [2, headDim], bound together by qk-norm-rope-cache. */
  readonly qkNorm: GPUBuffer;
  readonly linear: Record<LinearProjection, GpuLinear>;
}

export interface GpuWeights {
  readonly config: Qwen3Config;
  readonly embedding: readonly TableChunk[];
  /** The lm_head rows: the embedding when tied. */
  readonly lmHead: readonly TableChunk[];
  readonly layers: readonly GpuLayer[];
  readonly finalNorm: GPUBuffer;
  readonly bytes: number;
  /** Every buffer above, to destroy with the model. */
  readonly buffers: readonly GPUBuffer[];
}

const usage = (): GPUBufferUsageFlags => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;

export async function uploadWeights(context: GpuContext, checkpoint: Checkpoint, kernel: KernelMode): Promise<GpuWeights> {
  assertKernelMatchesCheckpoint(checkpoint, kernel);
  const { config } = checkpoint;
  const { device, memory } = context;
  let bytes = 0;
  const buffers: GPUBuffer[] = [];
  const put = (label: string, data: ArrayBufferView): GPUBuffer => {
    const buffer = memory.create('weights', label, data.byteLength, usage());
    buffers.push(buffer);
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (raw.byteLength % 4 === 0) device.queue.writeBuffer(buffer, 0, raw as Uint8Array<ArrayBuffer>);
    else {
      const padded = new Uint8Array(Math.ceil(raw.byteLength / 4) * 4);
      padded.set(raw);
      device.queue.writeBuffer(buffer, 0, padded);
    }
    bytes += data.byteLength;
    return buffer;
  };

  const table = async (name: string): Promise<TableChunk[]> => {
    const bits = await checkpoint.readBf16(name);
    const rowBytes = config.hiddenSize * 2;
    const rowsPerChunk = Math.floor(Math.min(context.limits.maxStorageBufferBindingSize, context.limits.maxBufferSize) / rowBytes);
    const chunks: TableChunk[] = [];
    for (let rowStart = 0; rowStart < config.vocabSize; rowStart += rowsPerChunk) {
      const rows = Math.min(rowsPerChunk, config.vocabSize - rowStart);
      const part = bits.subarray(rowStart * config.hiddenSize, (rowStart + rows) * config.hiddenSize);
      chunks.push({ buffer: put(`${name} rows ${rowStart}+${rows}`, part), rowStart, rows });
    }
    return chunks;
  };

  const linear = async (name: string, outDim: number, inDim: number): Promise<GpuLinear> => {
    if (checkpoint.isFp8(name)) {
      const { codes, scaleInv } = await checkpoint.readFp8(name);
      return { kind: 'fp8', weight: put(name, codes), scales: put(`${name}_scale_inv`, scaleInv), outDim, inDim };
    }
    return { kind: 'bf16', weight: put(name, await checkpoint.readBf16(name)), outDim, inDim };
  };
  const norm = async (name: string): Promise<GPUBuffer> => put(name, await checkpoint.readF32(name));
  const normPair = async (first: string, second: string): Promise<GPUBuffer> =>
    put(`${first} + ${second}`, Float32Array.from([...(await checkpoint.readF32(first)), ...(await checkpoint.readF32(second))]));

  try {
    return await uploadAll();
  } catch (error) {
    for (const buffer of buffers) memory.destroy(buffer);
    throw error;
  }

  async function uploadAll(): Promise<GpuWeights> {
    const embedding = await table(EMBED_TOKENS_NAME);
    const lmHead = config.tieWordEmbeddings ? embedding : await table(LM_HEAD_NAME);
    const layers: GpuLayer[] = [];
    for (let layer = 0; layer < config.numLayers; layer++) {
      const linears = {} as Record<LinearProjection, GpuLinear>;
      for (const [projection, name] of Object.entries(checkpoint.linearNames(layer)) as [LinearProjection, string][]) {
        const [outDim, inDim] = linearShape(config, projection).shape;
        linears[projection] = await linear(name, outDim, inDim);
      }
      layers.push({
        inputNorm: await norm(layerNormName(layer, 'input_layernorm')),
        postAttentionNorm: await norm(layerNormName(layer, 'post_attention_layernorm')),
        qkNorm: await normPair(layerNormName(layer, 'self_attn.q_norm'), layerNormName(layer, 'self_attn.k_norm')),
        linear: linears,
      });
    }
    const finalNorm = await norm(FINAL_NORM_NAME);
    return { config, embedding, lmHead, layers, finalNorm, bytes, buffers };
  }
}
