/**
 * The checkpoint's tensors uploaded to the CUDA model tensor by tensor, in their stored formats: BF16 bits, FP8
 * e4m3 codes with float32 block scales (`weight_scale_inv`, converted to f32 by the checkpoint reader), norms as
 * float32. Nothing is dequantised on upload; each host copy is dropped once it is on the device.
 */
import type { KernelMode } from '@quantbench/core';
import {
  assertKernelMatchesCheckpoint,
  type Checkpoint,
  EMBED_TOKENS_NAME,
  FINAL_NORM_NAME,
  LAYER_NORMS,
  LINEAR_PROJECTIONS,
  layerNormName,
  LM_HEAD_NAME,
} from '@quantbench/model';
import { NORM_INDEX, type NativeModel } from './native.js';

/** Uploads every weight of `checkpoint` to `model` (which checks each tensor's size against the config). */
export async function uploadWeights(model: NativeModel, checkpoint: Checkpoint, kernel: KernelMode): Promise<void> {
  assertKernelMatchesCheckpoint(checkpoint, kernel);
  const { config } = checkpoint;
  model.uploadEmbedding(await checkpoint.readBf16(EMBED_TOKENS_NAME));
  if (!config.tieWordEmbeddings) model.uploadLmHead(await checkpoint.readBf16(LM_HEAD_NAME));
  for (let layer = 0; layer < config.numLayers; layer++) {
    const names = checkpoint.linearNames(layer);
    for (const [index, projection] of LINEAR_PROJECTIONS.entries()) {
      const name = names[projection];
      if (checkpoint.isFp8(name)) {
        const { codes, scaleInv } = await checkpoint.readFp8(name);
        model.uploadLinearFp8(layer, index, codes, scaleInv);
      } else {
        model.uploadLinearBf16(layer, index, await checkpoint.readBf16(name));
      }
    }
    for (const norm of LAYER_NORMS) model.uploadNorm(layer, NORM_INDEX[norm], await checkpoint.readF32(layerNormName(layer, norm)));
  }
  model.uploadFinalNorm(await checkpoint.readF32(FINAL_NORM_NAME));
}
