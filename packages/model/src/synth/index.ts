export { isPresetName, PRESET_NAMES, PRESETS, QWEN3_VOCAB_SIZE, type PresetName } from './presets.js';
export { DEFAULT_SYNTH_TEMPLATE, parameterCount, SYNTH_VERSION, writeSyntheticCheckpoints, type SynthOptions, type SynthResult } from './write.js';
export { defaultSynthCacheDir, ensureSyntheticCheckpoints, type CachedSynthOptions } from './cache.js';
export { finalNormLevel, syntheticEmbedding, syntheticLinear, syntheticNorm, tensorSeed } from './weights.js';
