import type { Qwen3Config } from '../config/index.js';

/** The real Qwen3 vocabulary: config.vocab_size of every Qwen3 model (the tokenizer uses 151,669 of it). */
export const QWEN3_VOCAB_SIZE = 151_936;

const QWEN3_SHARED = {
  vocabSize: QWEN3_VOCAB_SIZE,
  maxPositions: 262_144,
  rmsNormEps: 1e-6,
  ropeTheta: 5_000_000,
  ropeScaling: null,
  tieWordEmbeddings: true,
  quantization: null,
} as const;

/**
 * Synthetic checkpoint shapes.
 * - `tiny`: seconds to make and to run on the CPU engine; the intermediate size (704 = 5.5 × 128) is deliberately
 *   not a multiple of the FP8 block so every engine's partial-block path is exercised.
 * - `mid`: Qwen3-0.6B's layer shapes with fewer layers: big enough for speed work, small enough for 2 cores.
 * - `qwen3-4b`: the real Qwen3-4B(-2507) shapes, for speed and memory runs where the real weights cannot be had.
 */
export const PRESETS = {
  tiny: { ...QWEN3_SHARED, hiddenSize: 256, intermediateSize: 704, numLayers: 4, numHeads: 4, numKvHeads: 2, headDim: 64 },
  mid: { ...QWEN3_SHARED, hiddenSize: 1024, intermediateSize: 3072, numLayers: 8, numHeads: 16, numKvHeads: 8, headDim: 128 },
  'qwen3-4b': {
    ...QWEN3_SHARED,
    hiddenSize: 2560,
    intermediateSize: 9728,
    numLayers: 36,
    numHeads: 32,
    numKvHeads: 8,
    headDim: 128,
  },
} as const satisfies Record<string, Qwen3Config>;

export type PresetName = keyof typeof PRESETS;

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

export function isPresetName(name: string): name is PresetName {
  return Object.hasOwn(PRESETS, name);
}
