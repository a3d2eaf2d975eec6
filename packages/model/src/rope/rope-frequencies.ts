/**
 * RoPE inverse frequencies and attention scale for a Qwen3 config, as Hugging Face's rope utilities compute them:
 * plain RoPE, inv_freq[j] = 1 / θ^(2j/d); YaRN (`rope_scaling.rope_type = 'yarn'`) blends interpolated
 * (inv_freq / factor) and extrapolated (inv_freq) frequencies with a linear ramp between the correction dims of
 * beta_fast and beta_slow rotations, and scales cos/sin by the attention factor 0.1·ln(factor) + 1.
 */
import type { Qwen3Config } from '../config/index.js';

export interface RopeFrequencies {
  readonly invFreq: Float64Array;
  readonly attentionScale: number;
}

const YARN_DEFAULT_BETA_FAST = 32;
const YARN_DEFAULT_BETA_SLOW = 1;

/** The (fractional) dimension index at which a frequency completes `rotations` turns over `maxPositions`. */
function correctionDim(rotations: number, dim: number, base: number, maxPositions: number): number {
  return (dim * Math.log(maxPositions / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
}

export function ropeFrequencies(config: Qwen3Config): RopeFrequencies {
  const dim = config.headDim;
  const base = config.ropeTheta;
  const extrapolated = new Float64Array(dim / 2);
  for (let j = 0; j < dim / 2; j++) extrapolated[j] = 1 / base ** ((2 * j) / dim);
  const scaling = config.ropeScaling;
  if (scaling === null || scaling.factor <= 1) return { invFreq: extrapolated, attentionScale: 1 };

  const betaFast = scaling.betaFast ?? YARN_DEFAULT_BETA_FAST;
  const betaSlow = scaling.betaSlow ?? YARN_DEFAULT_BETA_SLOW;
  const low = Math.max(Math.floor(correctionDim(betaFast, dim, base, scaling.originalMaxPositions)), 0);
  let high = Math.min(Math.ceil(correctionDim(betaSlow, dim, base, scaling.originalMaxPositions)), dim - 1);
  if (low === high) high += 0.001; // as Hugging Face does, to avoid a division by zero in the ramp
  const invFreq = new Float64Array(dim / 2);
  for (let j = 0; j < dim / 2; j++) {
    const ramp = Math.min(1, Math.max(0, (j - low) / (high - low)));
    const extrapolation = 1 - ramp; // 1 keeps the high-frequency (small j) dims as they are
    invFreq[j] = (extrapolated[j]! / scaling.factor) * (1 - extrapolation) + extrapolated[j]! * extrapolation;
  }
  const attentionScale = scaling.attentionFactor ?? 0.1 * Math.log(scaling.factor) + 1;
  return { invFreq, attentionScale };
}

/**
 * (cos, sin) per position and rotary pair, [positions, headDim/2, 2] float32, computed in float64 and scaled by
 * the attention factor: the table GPU engines read instead of evaluating large angles in float32.
 */
export function ropeTable(frequencies: RopeFrequencies, positions: number): Float32Array {
  const pairs = frequencies.invFreq.length;
  const table = new Float32Array(positions * pairs * 2);
  for (let p = 0; p < positions; p++) {
    for (let j = 0; j < pairs; j++) {
      const angle = p * frequencies.invFreq[j]!;
      table[(p * pairs + j) * 2] = Math.cos(angle) * frequencies.attentionScale;
      table[(p * pairs + j) * 2 + 1] = Math.sin(angle) * frequencies.attentionScale;
    }
  }
  return table;
}
