/**
 * Synthetic weights whose statistics resemble a trained Qwen3's closely enough that FP8 error is realistic.
 *
 * FP8 e4m3 is a float format, so its relative error (≤ 2^-4 per value) does not depend on the scale of a block;
 * what makes block-FP8 error realistic is (a) how far the small values of a block sit below its largest value
 * (values below amax·2^-15 fall into e4m3 subnormals and lose precision) and (b) how errors add up through the
 * network. Trained transformer weights are not Gaussian: they are heavy-tailed (excess kurtosis of a few), and
 * whole input channels are larger than others. So:
 * - linear weights: Student-t with ν = 6 (kurtosis 6), std 1/√fan_in, times a log-normal per-input-channel gain
 *   (σ_log = 0.35) that makes some 128-wide blocks' amax come from a few loud channels, as in trained models;
 * - embeddings (also the tied lm_head): Student-t, std 0.03, times a log-normal per-token gain (rare tokens are
 *   smaller);
 * - RMSNorm gains: log-normal around a per-tensor level, never all ones (trained gains spread from ~0.1 to ~10);
 *   the final norm's level is chosen so that logits have a standard deviation of about 4, which gives the peaked
 *   next-token distributions of a trained model rather than a near-uniform softmax over 151,936 tokens.
 * Every tensor has its own stream seeded from (seed, tensor name), so tensors can be made in any order, alone.
 *
 * What this does not reproduce: the per-weight FP8 error is realistic (relative RMS ≈ 3%, as measured in the
 * tests), but a random network passes it on more strongly than a trained one, whose activations line up with a
 * few dominant weight directions. Measured on `tiny` (seed 0, CPU engine, datasets/fixtures/logit-prompts.jsonl),
 * FP8 w8a16 against BF16 gives a mean KL of about 0.27 and 76% top-1 agreement, several times what FP8 costs a
 * trained model. So FP8-vs-BF16 figures on synthetic checkpoints track regressions; they are not estimates of
 * what FP8 costs the real Qwen3-4B.
 */
import { createRng } from '@quantbench/core';
import type { Qwen3Config } from '../config/index.js';

const STUDENT_T_DOF = 6;
const LINEAR_CHANNEL_LOG_SIGMA = 0.35;
const EMBEDDING_STD = 0.03;
const EMBEDDING_ROW_LOG_SIGMA = 0.3;
const NORM_LOG_SIGMA = 0.3;
const TARGET_LOGIT_STD = 4;

type Rng = ReturnType<typeof createRng>;

/** FNV-1a over the name, mixed with the seed: a stable 32-bit seed per tensor. */
export function tensorSeed(seed: number, name: string): number {
  let hash = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Uniform in (0, 1): 32 random bits are plenty for weights, and 0 is excluded so logarithms stay finite. */
function openUniform(rng: Rng): number {
  return (rng.nextU32() + 0.5) / 4294967296;
}

/** Standard normal by Box–Muller; the second value of each pair is kept for the next call. */
function normalSource(rng: Rng): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const value = spare;
      spare = null;
      return value;
    }
    const radius = Math.sqrt(-2 * Math.log(openUniform(rng)));
    const angle = 2 * Math.PI * openUniform(rng);
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}

/**
 * Student-t with 6 degrees of freedom, scaled to unit variance. χ²(6) = −2·ln(U₁U₂U₃) needs one logarithm.
 */
function unitStudentTSource(rng: Rng): () => number {
  const normal = normalSource(rng);
  const unitVariance = Math.sqrt((STUDENT_T_DOF - 2) / STUDENT_T_DOF);
  return () => {
    const chiSquare = -2 * Math.log(openUniform(rng) * openUniform(rng) * openUniform(rng));
    return (normal() / Math.sqrt(chiSquare / STUDENT_T_DOF)) * unitVariance;
  };
}

function logNormalGains(rng: Rng, count: number, logSigma: number, level = 1): Float32Array {
  const normal = normalSource(rng);
  const gains = new Float32Array(count);
  // exp(σZ − σ²/2) has mean 1, so `level` is the mean gain.
  for (let i = 0; i < count; i++) gains[i] = level * Math.exp(logSigma * normal() - (logSigma * logSigma) / 2);
  return gains;
}

/** A linear weight [rows = out, cols = in], row-major float32. */
export function syntheticLinear(seed: number, name: string, rows: number, cols: number): Float32Array {
  const rng = createRng(tensorSeed(seed, name));
  const channelGain = logNormalGains(rng, cols, LINEAR_CHANNEL_LOG_SIGMA);
  const sample = unitStudentTSource(rng);
  const std = 1 / Math.sqrt(cols);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[base + c] = sample() * std * channelGain[c]!;
  }
  return out;
}

/** The token embedding [vocab, hidden], also the tied lm_head. */
export function syntheticEmbedding(seed: number, name: string, vocab: number, hidden: number): Float32Array {
  const rng = createRng(tensorSeed(seed, name));
  const rowGain = logNormalGains(rng, vocab, EMBEDDING_ROW_LOG_SIGMA);
  const sample = unitStudentTSource(rng);
  const out = new Float32Array(vocab * hidden);
  for (let t = 0; t < vocab; t++) {
    const scale = EMBEDDING_STD * rowGain[t]!;
    const base = t * hidden;
    for (let h = 0; h < hidden; h++) out[base + h] = sample() * scale;
  }
  return out;
}

/** An RMSNorm gain vector around `level` (the level itself is drawn per tensor unless given). */
export function syntheticNorm(seed: number, name: string, size: number, level?: number): Float32Array {
  const rng = createRng(tensorSeed(seed, name));
  const drawnLevel = level ?? 0.4 + 1.6 * openUniform(rng);
  return logNormalGains(rng, size, NORM_LOG_SIGMA, drawnLevel);
}

/**
 * The final norm's level: a unit-RMS hidden state h times gain g against embedding rows of std σ gives logits of
 * std ≈ g·σ·√hidden, so g = target / (σ·√hidden).
 */
export function finalNormLevel(config: Qwen3Config): number {
  return TARGET_LOGIT_STD / (EMBEDDING_STD * Math.sqrt(config.hiddenSize));
}
