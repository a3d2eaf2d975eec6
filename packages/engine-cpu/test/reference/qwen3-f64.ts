/**
 * A deliberately plain float64 reference of Hugging Face transformers' `Qwen3ForCausalLM` forward pass
 * (`transformers/models/qwen3/modeling_qwen3.py`), used as the oracle the CPU engine is tested against.
 *
 * - No KV cache: every call recomputes the whole token sequence, positions 0 … T−1.
 * - Everything is float64, computed in the most obvious order. Speed is not a goal; readability is.
 * - Weights come from a quantbench `Checkpoint`. Embeddings, RMSNorm gains and lm_head are BF16 in every kernel
 *   mode (converted exactly). Linear projections depend on the kernel mode:
 *     bf16   BF16 checkpoint: W exact from BF16, y = W·x.
 *     w8a16  FP8 checkpoint:  W[o,i] = e4m3(code[o,i]) × scaleInv[⌊o/128⌋, ⌊i/128⌋], y = W·x (x unquantised).
 *     w8a8   FP8 checkpoint:  x is also quantised per token, per 128-wide group of the input dimension, with
 *            core's `quantizeActivationsFp8` on the float32 value of x (the spec of the activation rounding), and
 *            y[o] = Σ_blocks (Σ_{i∈block} e4m3(xcode_i)·e4m3(wcode_{o,i})) × xscale_block × wscale_{o-block,block}.
 *   A projection an FP8 checkpoint keeps in BF16 (`modules_to_not_convert`) is a plain BF16 linear in every mode
 *   (an unquantised layer in vLLM does not quantise its input either).
 *
 * HF numerics this deliberately does NOT reproduce: HF runs in bfloat16 (each linear output, each residual add,
 * and each RMSNorm output is rounded to bf16; RMSNorm statistics, RoPE tables and softmax are float32). Here
 * nothing is rounded except the w8a8 activation quantisation, which is part of the kernel definition.
 */
import { bf16ArrayToF32, E4M3_DECODE, quantizeActivationsFp8 } from '@quantbench/core';
import type { KernelMode } from '@quantbench/core';
import type { Checkpoint, Qwen3Config, YarnRopeScaling } from '@quantbench/model';

// ---------------------------------------------------------------------------------------------------------------
// Weights
// ---------------------------------------------------------------------------------------------------------------

/** A linear projection's weight, [out, in] row-major (PyTorch `nn.Linear.weight` layout: y = W·x). */
export interface ReferenceLinear {
  readonly name: string;
  readonly out: number;
  readonly in: number;
  /** The weight as used by bf16 and w8a16: exact BF16 value, or e4m3(code) × block scale. [out, in]. */
  readonly dense: Float64Array;
  /** Present for FP8-stored weights: the pieces w8a8 needs. */
  readonly fp8: {
    /** e4m3(code) for every element, [out, in]. */
    readonly codeValues: Float64Array;
    /** Block multipliers (`weight_scale_inv`), [ceil(out/blockRows), ceil(in/blockCols)]. */
    readonly scaleInv: Float64Array;
    readonly scaleCols: number;
    readonly blockRows: number;
    readonly blockCols: number;
  } | null;
}

export interface ReferenceLayer {
  readonly inputNorm: Float64Array;
  readonly postAttentionNorm: Float64Array;
  readonly qNorm: Float64Array;
  readonly kNorm: Float64Array;
  readonly qProj: ReferenceLinear;
  readonly kProj: ReferenceLinear;
  readonly vProj: ReferenceLinear;
  readonly oProj: ReferenceLinear;
  readonly gateProj: ReferenceLinear;
  readonly upProj: ReferenceLinear;
  readonly downProj: ReferenceLinear;
}

export interface ReferenceWeights {
  readonly config: Qwen3Config;
  readonly kernel: KernelMode;
  /** model.embed_tokens.weight, [vocab, hidden], exact BF16 values (float32 holds BF16 exactly). */
  readonly embedTokens: Float32Array;
  /** lm_head.weight, [vocab, hidden]: the same array as embedTokens when the embeddings are tied. */
  readonly lmHead: Float32Array;
  readonly finalNorm: Float64Array;
  readonly layers: readonly ReferenceLayer[];
}

function toF64(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values as ArrayLike<number>);
}

async function loadLinear(checkpoint: Checkpoint, kernel: KernelMode, name: string): Promise<ReferenceLinear> {
  const useFp8 = kernel !== 'bf16' && checkpoint.isFp8(name);
  if (!useFp8) {
    const info = checkpoint.store.tensors.get(name);
    if (info === undefined) throw new Error(`reference: no tensor ${name}`);
    const [out = 0, inDim = 0] = info.shape;
    const dense = toF64(bf16ArrayToF32(await checkpoint.readBf16(name)));
    return { name, out, in: inDim, dense, fp8: null };
  }
  const weight = await checkpoint.readFp8(name);
  const [out, inDim] = weight.shape;
  const [scaleRows, scaleCols] = weight.scaleShape;
  // The block size is the one that makes the scale grid cover the weight: [128, 128] for every Qwen3 FP8 model.
  const [blockRows, blockCols] = checkpoint.config.quantization?.blockSize ?? [128, 128];
  if (scaleRows !== Math.ceil(out / blockRows) || scaleCols !== Math.ceil(inDim / blockCols)) {
    throw new Error(`reference: ${name} scale shape [${scaleRows}, ${scaleCols}] does not fit [${out}, ${inDim}]`);
  }
  const codeValues = new Float64Array(out * inDim);
  const dense = new Float64Array(out * inDim);
  const scaleInv = toF64(weight.scaleInv);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inDim; i++) {
      const value = E4M3_DECODE[weight.codes[o * inDim + i]!]!;
      const scale = scaleInv[Math.floor(o / blockRows) * scaleCols + Math.floor(i / blockCols)]!;
      codeValues[o * inDim + i] = value;
      dense[o * inDim + i] = value * scale;
    }
  }
  return { name, out, in: inDim, dense, fp8: { codeValues, scaleInv, scaleCols, blockRows, blockCols } };
}

/**
 * Reads and dequantises every weight the model uses. `bf16` needs a BF16 checkpoint; `w8a16` and `w8a8` need an
 * FP8 one. The result can be reused for any number of `referenceForward` calls.
 */
export async function loadReferenceWeights(checkpoint: Checkpoint, kernel: KernelMode): Promise<ReferenceWeights> {
  const wanted = kernel === 'bf16' ? 'bf16' : 'fp8';
  if (checkpoint.format !== wanted) {
    throw new Error(`reference: kernel '${kernel}' needs a ${wanted} checkpoint, got a ${checkpoint.format} one (${checkpoint.dir})`);
  }
  const config = checkpoint.config;
  const embedTokens = bf16ArrayToF32(await checkpoint.readBf16('model.embed_tokens.weight'));
  const lmHead = config.tieWordEmbeddings ? embedTokens : bf16ArrayToF32(await checkpoint.readBf16('lm_head.weight'));
  const finalNorm = toF64(await checkpoint.readF32('model.norm.weight'));
  const layers: ReferenceLayer[] = [];
  for (let layer = 0; layer < config.numLayers; layer++) {
    const p = `model.layers.${layer}.`;
    const names = checkpoint.linearNames(layer);
    layers.push({
      inputNorm: toF64(await checkpoint.readF32(`${p}input_layernorm.weight`)),
      postAttentionNorm: toF64(await checkpoint.readF32(`${p}post_attention_layernorm.weight`)),
      qNorm: toF64(await checkpoint.readF32(`${p}self_attn.q_norm.weight`)),
      kNorm: toF64(await checkpoint.readF32(`${p}self_attn.k_norm.weight`)),
      qProj: await loadLinear(checkpoint, kernel, names['self_attn.q_proj']),
      kProj: await loadLinear(checkpoint, kernel, names['self_attn.k_proj']),
      vProj: await loadLinear(checkpoint, kernel, names['self_attn.v_proj']),
      oProj: await loadLinear(checkpoint, kernel, names['self_attn.o_proj']),
      gateProj: await loadLinear(checkpoint, kernel, names['mlp.gate_proj']),
      upProj: await loadLinear(checkpoint, kernel, names['mlp.up_proj']),
      downProj: await loadLinear(checkpoint, kernel, names['mlp.down_proj']),
    });
  }
  return { config, kernel, embedTokens, lmHead, finalNorm, layers };
}

// ---------------------------------------------------------------------------------------------------------------
// Building blocks (exported so tests can check each one on its own)
// ---------------------------------------------------------------------------------------------------------------

/**
 * Qwen3RMSNorm: x · 1/√(mean(x²) + eps) · weight. HF does this in float32 (then rounds to the input dtype before
 * multiplying by the weight); here all of it is float64.
 */
export function rmsNorm(x: ArrayLike<number>, weight: ArrayLike<number>, eps: number): Float64Array {
  const n = x.length;
  if (weight.length !== n) throw new RangeError(`rmsNorm: ${n} values but ${weight.length} weights`);
  let sumSquares = 0;
  for (let i = 0; i < n; i++) sumSquares += x[i]! * x[i]!;
  const inverseRms = 1 / Math.sqrt(sumSquares / n + eps);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = x[i]! * inverseRms * weight[i]!;
  return out;
}

/** SiLU(x) = x·σ(x) = x / (1 + e^−x), Qwen3's `hidden_act`. */
export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/** RoPE frequencies and the factor HF multiplies cos and sin by (`attention_scaling`). */
export interface RopeParameters {
  /** inv_freq, headDim/2 entries. */
  readonly invFreq: Float64Array;
  /** 1 for plain RoPE; YaRN's mscale otherwise. Multiplies cos and sin, so q·k scales by its square. */
  readonly attentionFactor: number;
}

/** HF `_compute_default_rope_parameters`: inv_freq[i] = 1 / θ^(2i/dim), i < dim/2. */
export function defaultInvFreq(theta: number, dim: number): Float64Array {
  const invFreq = new Float64Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) invFreq[i] = 1 / theta ** ((2 * i) / dim);
  return invFreq;
}

export interface YarnParameters extends RopeParameters {
  /** The correction range (in HF's "dimension" units, after floor/ceil and clamping) that the ramp runs over. */
  readonly low: number;
  readonly high: number;
}

/**
 * HF `_compute_yarn_parameters` (transformers/modeling_rope_utils.py, recent versions), step by step. Qwen3 has no
 * `partial_rotary_factor`, so the rotary dim is head_dim; quantbench's config has no `mscale`/`mscale_all_dim`
 * (DeepSeek-only) nor `truncate` (default True), so those branches reduce to the defaults below.
 */
export function yarnInvFreq(theta: number, dim: number, scaling: YarnRopeScaling): YarnParameters {
  const base = theta;
  // `factor = config.rope_scaling["factor"]`: the explicit factor. (transformers 4.50–4.53 instead overwrote it
  // with max_position_embeddings / original_max_position_embeddings whenever the latter was present; later
  // versions went back to the explicit factor and only warn on a mismatch. We follow the later versions.)
  const factor = scaling.factor;
  const originalMaxPositions = scaling.originalMaxPositions;

  // get_mscale(scale, mscale=1) = 1 if scale <= 1 else 0.1·mscale·ln(scale) + 1.
  const getMscale = (scale: number, mscale = 1): number => (scale <= 1 ? 1 : 0.1 * mscale * Math.log(scale) + 1);
  // attention_factor: the config's value if given, else get_mscale(factor) ("as suggested in the paper").
  const attentionFactor = scaling.attentionFactor ?? getMscale(factor);

  // beta_fast / beta_slow: `config.rope_scaling.get("beta_fast") or 32`, `... or 1`.
  const betaFast = scaling.betaFast ?? 32;
  const betaSlow = scaling.betaSlow ?? 1;

  // find_correction_dim: the (fractional) dimension index whose wavelength makes `numRotations` full turns over
  // the original context: dim · ln(L / (numRotations · 2π)) / (2 ln base).
  const findCorrectionDim = (numRotations: number): number =>
    (dim * Math.log(originalMaxPositions / (numRotations * 2 * Math.PI))) / (2 * Math.log(base));
  // find_correction_range with truncate=True: floor the low end, ceil the high end, clamp to [0, dim − 1].
  // (Note HF clamps to dim − 1 although the ramp below only has dim/2 entries; kept as is.)
  const low = Math.max(Math.floor(findCorrectionDim(betaFast)), 0);
  const high = Math.min(Math.ceil(findCorrectionDim(betaSlow)), dim - 1);

  // linear_ramp_factor(low, high, dim // 2): clamp((j − low) / (high − low), 0, 1), with high += 0.001 if equal.
  const rampHigh = low === high ? high + 0.001 : high;
  const half = dim / 2;
  const invFreq = new Float64Array(half);
  for (let j = 0; j < half; j++) {
    // pos_freqs = base^(arange(0, dim, 2) / dim); index j is the dimension 2j.
    const posFreq = base ** ((2 * j) / dim);
    const invFreqExtrapolation = 1 / posFreq; // plain RoPE: high-frequency dims keep it
    const invFreqInterpolation = 1 / (factor * posFreq); // positions interpolated by `factor`: low-frequency dims
    const ramp = Math.min(Math.max((j - low) / (rampHigh - low), 0), 1);
    // inv_freq_extrapolation_factor = 1 − ramp: 1 below `low` (extrapolate), 0 above `high` (interpolate).
    const extrapolationFactor = 1 - ramp;
    invFreq[j] = invFreqInterpolation * (1 - extrapolationFactor) + invFreqExtrapolation * extrapolationFactor;
  }
  return { invFreq, attentionFactor, low, high };
}

/** The RoPE parameters a Qwen3 config implies (plain, or YaRN when rope_scaling is set). */
export function ropeParameters(config: Qwen3Config): RopeParameters {
  if (config.ropeScaling === null) return { invFreq: defaultInvFreq(config.ropeTheta, config.headDim), attentionFactor: 1 };
  return yarnInvFreq(config.ropeTheta, config.headDim, config.ropeScaling);
}

/**
 * HF `apply_rotary_pos_emb` for one head vector at one position, NeoX ("rotate half") layout:
 * freqs = position · inv_freq; emb = cat(freqs, freqs); cos = cos(emb)·attention_factor, sin likewise;
 * out = x·cos + rotate_half(x)·sin with rotate_half(x) = cat(−x2, x1), x1 = first half, x2 = second half. So for
 * i < d/2: out[i] = x[i]·cos − x[i+d/2]·sin and out[i+d/2] = x[i+d/2]·cos + x[i]·sin.
 */
export function applyRope(x: ArrayLike<number>, position: number, rope: RopeParameters): Float64Array {
  const dim = x.length;
  const half = dim / 2;
  if (rope.invFreq.length !== half) throw new RangeError(`applyRope: ${dim} values but ${rope.invFreq.length} frequencies`);
  const out = new Float64Array(dim);
  for (let i = 0; i < half; i++) {
    const angle = position * rope.invFreq[i]!;
    const cos = Math.cos(angle) * rope.attentionFactor;
    const sin = Math.sin(angle) * rope.attentionFactor;
    const x1 = x[i]!;
    const x2 = x[i + half]!;
    out[i] = x1 * cos - x2 * sin;
    out[i + half] = x2 * cos + x1 * sin;
  }
  return out;
}

/**
 * Causal grouped-query attention (HF `eager_attention_forward` with `repeat_kv`), no dropout, no sliding window.
 * q: [T, numHeads·headDim], k and v: [T, numKvHeads·headDim], all row-major and already normed/rotated.
 * Query head h reads kv head ⌊h / (numHeads/numKvHeads)⌋. Returns [T, numHeads·headDim] (heads concatenated, the
 * input of o_proj).
 */
export function attention(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  tokens: number,
  numHeads: number,
  numKvHeads: number,
  headDim: number,
): Float64Array {
  const groupSize = numHeads / numKvHeads;
  const scaling = 1 / Math.sqrt(headDim); // HF: self.scaling = head_dim ** -0.5
  const qStride = numHeads * headDim;
  const kvStride = numKvHeads * headDim;
  const out = new Float64Array(tokens * qStride);
  for (let t = 0; t < tokens; t++) {
    for (let h = 0; h < numHeads; h++) {
      const kvHead = Math.floor(h / groupSize);
      // Scores against positions 0..t only: the causal mask sets later positions to −∞, which softmax turns into 0.
      const scores = new Float64Array(t + 1);
      for (let s = 0; s <= t; s++) {
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += q[t * qStride + h * headDim + d]! * k[s * kvStride + kvHead * headDim + d]!;
        scores[s] = dot * scaling;
      }
      // Softmax, with the maximum subtracted first (it cancels in the ratio; it only avoids overflow).
      let max = -Infinity;
      for (let s = 0; s <= t; s++) max = Math.max(max, scores[s]!);
      let sum = 0;
      for (let s = 0; s <= t; s++) {
        scores[s] = Math.exp(scores[s]! - max);
        sum += scores[s]!;
      }
      for (let d = 0; d < headDim; d++) {
        let acc = 0;
        for (let s = 0; s <= t; s++) acc += (scores[s]! / sum) * v[s * kvStride + kvHead * headDim + d]!;
        out[t * qStride + h * headDim + d] = acc;
      }
    }
  }
  return out;
}

/**
 * y = W·x for each of `tokens` rows of x ([tokens, in] → [tokens, out]), the way `kernel` computes it.
 * See the file comment for the three modes.
 */
export function linear(weight: ReferenceLinear, x: Float64Array, tokens: number, kernel: KernelMode): Float64Array {
  const { out, in: inDim } = weight;
  if (x.length !== tokens * inDim) throw new RangeError(`linear ${weight.name}: ${x.length} values do not fill [${tokens}, ${inDim}]`);
  const y = new Float64Array(tokens * out);
  const fp8 = weight.fp8;
  if (kernel !== 'w8a8' || fp8 === null) {
    // bf16, w8a16, or a projection left in BF16: the dense weight against the unquantised input.
    for (let t = 0; t < tokens; t++) {
      for (let o = 0; o < out; o++) {
        let acc = 0;
        for (let i = 0; i < inDim; i++) acc += weight.dense[o * inDim + i]! * x[t * inDim + i]!;
        y[t * out + o] = acc;
      }
    }
    return y;
  }
  // w8a8. The activation is float32 in a real kernel at this point: round x to float32, then quantise each token's
  // row per group of blockCols input channels with core's quantizeActivationsFp8 (scale = max(amax, 1e-10)/448,
  // codes = e4m3(x/scale), round to nearest even, saturating).
  const group = fp8.blockCols;
  const groups = Math.ceil(inDim / group);
  const quantised = quantizeActivationsFp8(Float32Array.from(x), tokens, inDim, group);
  for (let t = 0; t < tokens; t++) {
    for (let o = 0; o < out; o++) {
      const weightBlockRow = Math.floor(o / fp8.blockRows);
      let acc = 0;
      for (let b = 0; b < groups; b++) {
        // One block of the input dimension; the last one may be partial (e.g. 704 = 5 × 128 + 64).
        const start = b * group;
        const end = Math.min(inDim, start + group);
        let blockSum = 0;
        for (let i = start; i < end; i++) {
          blockSum += E4M3_DECODE[quantised.codes[t * inDim + i]!]! * fp8.codeValues[o * inDim + i]!;
        }
        const xScale = quantised.scales[t * groups + b]!;
        const wScale = fp8.scaleInv[weightBlockRow * fp8.scaleCols + b]!;
        acc += blockSum * xScale * wScale;
      }
      y[t * out + o] = acc;
    }
  }
  return y;
}

// ---------------------------------------------------------------------------------------------------------------
// The forward pass
// ---------------------------------------------------------------------------------------------------------------

/** Intermediates of one decoder layer, each [T, width] row-major. */
export interface ReferenceLayerTrace {
  /** rmsnorm(x, input_layernorm), [T, hidden]. */
  readonly inputNorm: Float64Array;
  /** Queries after q_norm and RoPE, [T, heads·headDim]. */
  readonly q: Float64Array;
  /** Keys after k_norm and RoPE, [T, kvHeads·headDim]. */
  readonly k: Float64Array;
  /** Values, [T, kvHeads·headDim]. */
  readonly v: Float64Array;
  /** o_proj(attention), [T, hidden]. */
  readonly attentionOutput: Float64Array;
  /** h = x + attentionOutput, [T, hidden]. */
  readonly residualAfterAttention: Float64Array;
  /** rmsnorm(h, post_attention_layernorm), [T, hidden]. */
  readonly postAttentionNorm: Float64Array;
  /** down(silu(gate(n)) · up(n)), [T, hidden]. */
  readonly mlpOutput: Float64Array;
  /** The layer's output h + mlpOutput, [T, hidden]. */
  readonly output: Float64Array;
}

export interface ReferenceTrace {
  /** Embedding rows, [T, hidden]. */
  readonly embeddings: Float64Array;
  readonly layers: readonly ReferenceLayerTrace[];
  /** rmsnorm(last layer output, model.norm), [T, hidden]: the input of lm_head. */
  readonly finalNorm: Float64Array;
}

export interface ReferenceResult {
  /** [T, vocab] row-major. */
  readonly logits: Float64Array;
  readonly trace: ReferenceTrace;
}

/** rmsnorm applied to each of the `tokens` rows of x. */
function rmsNormRows(x: Float64Array, tokens: number, weight: Float64Array, eps: number): Float64Array {
  const width = weight.length;
  const out = new Float64Array(tokens * width);
  for (let t = 0; t < tokens; t++) out.set(rmsNorm(x.subarray(t * width, (t + 1) * width), weight, eps), t * width);
  return out;
}

/** The full forward pass over `tokens` (positions 0 … T−1), with every intermediate kept. */
export function referenceForward(weights: ReferenceWeights, tokens: readonly number[]): ReferenceResult {
  const { config, kernel } = weights;
  const { hiddenSize: hidden, numHeads, numKvHeads, headDim, vocabSize, rmsNormEps: eps } = config;
  const T = tokens.length;
  const rope = ropeParameters(config);

  // 1. Embedding lookup: row `token` of embed_tokens (exact BF16 values).
  const embeddings = new Float64Array(T * hidden);
  for (let t = 0; t < T; t++) {
    const token = tokens[t]!;
    if (!(Number.isInteger(token) && token >= 0 && token < vocabSize)) throw new RangeError(`reference: token ${token} out of range`);
    for (let d = 0; d < hidden; d++) embeddings[t * hidden + d] = weights.embedTokens[token * hidden + d]!;
  }

  // 2. Decoder layers.
  let x = embeddings;
  const layerTraces: ReferenceLayerTrace[] = [];
  for (const layer of weights.layers) {
    // 2a. Self-attention block: h = x + o_proj(attn(rmsnorm(x))).
    const inputNorm = rmsNormRows(x, T, layer.inputNorm, eps);
    const qFlat = linear(layer.qProj, inputNorm, T, kernel); // [T, heads·headDim]
    const kFlat = linear(layer.kProj, inputNorm, T, kernel); // [T, kvHeads·headDim]
    const v = linear(layer.vProj, inputNorm, T, kernel); // [T, kvHeads·headDim]

    // Per head: RMSNorm over headDim (q_norm / k_norm), then RoPE at the token's position.
    const q = new Float64Array(T * numHeads * headDim);
    const k = new Float64Array(T * numKvHeads * headDim);
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < numHeads; h++) {
        const offset = (t * numHeads + h) * headDim;
        const normed = rmsNorm(qFlat.subarray(offset, offset + headDim), layer.qNorm, eps);
        q.set(applyRope(normed, t, rope), offset);
      }
      for (let h = 0; h < numKvHeads; h++) {
        const offset = (t * numKvHeads + h) * headDim;
        const normed = rmsNorm(kFlat.subarray(offset, offset + headDim), layer.kNorm, eps);
        k.set(applyRope(normed, t, rope), offset);
      }
    }
    const attended = attention(q, k, v, T, numHeads, numKvHeads, headDim);
    const attentionOutput = linear(layer.oProj, attended, T, kernel);
    const residualAfterAttention = new Float64Array(T * hidden);
    for (let i = 0; i < T * hidden; i++) residualAfterAttention[i] = x[i]! + attentionOutput[i]!;

    // 2b. MLP block: out = h + down(silu(gate(n)) · up(n)), n = rmsnorm(h).
    const postAttentionNorm = rmsNormRows(residualAfterAttention, T, layer.postAttentionNorm, eps);
    const gate = linear(layer.gateProj, postAttentionNorm, T, kernel);
    const up = linear(layer.upProj, postAttentionNorm, T, kernel);
    const activated = new Float64Array(gate.length);
    for (let i = 0; i < gate.length; i++) activated[i] = silu(gate[i]!) * up[i]!;
    const mlpOutput = linear(layer.downProj, activated, T, kernel);
    const output = new Float64Array(T * hidden);
    for (let i = 0; i < T * hidden; i++) output[i] = residualAfterAttention[i]! + mlpOutput[i]!;

    layerTraces.push({ inputNorm, q, k, v, attentionOutput, residualAfterAttention, postAttentionNorm, mlpOutput, output });
    x = output;
  }

  // 3. Final RMSNorm, then lm_head (BF16 in every mode; tied to embed_tokens for the synthetic presets).
  const finalNorm = rmsNormRows(x, T, weights.finalNorm, eps);
  const logits = new Float64Array(T * vocabSize);
  for (let t = 0; t < T; t++) {
    for (let token = 0; token < vocabSize; token++) {
      let acc = 0;
      for (let d = 0; d < hidden; d++) acc += finalNorm[t * hidden + d]! * weights.lmHead[token * hidden + d]!;
      logits[t * vocabSize + token] = acc;
    }
  }
  return { logits, trace: { embeddings, layers: layerTraces, finalNorm } };
}

// Loaded weights per checkpoint and kernel mode, so repeated calls do not re-read and re-dequantise.
const weightCache = new WeakMap<Checkpoint, Map<KernelMode, Promise<ReferenceWeights>>>();

/** Logits [tokens.length, vocabSize] row-major, for positions 0 … T−1 of `tokens`. */
export async function referenceLogits(checkpoint: Checkpoint, kernel: KernelMode, tokens: readonly number[]): Promise<Float64Array> {
  const perKernel = weightCache.get(checkpoint) ?? new Map<KernelMode, Promise<ReferenceWeights>>();
  weightCache.set(checkpoint, perKernel);
  let weights = perKernel.get(kernel);
  if (weights === undefined) {
    weights = loadReferenceWeights(checkpoint, kernel);
    perKernel.set(kernel, weights);
    weights.catch(() => perKernel.delete(kernel));
  }
  return referenceForward(await weights, tokens).logits;
}
