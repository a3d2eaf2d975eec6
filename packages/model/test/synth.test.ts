import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bf16ArrayToF32, dequantizeBlockFp8, f32ArrayToBf16 } from '@quantbench/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Checkpoint,
  ensureSyntheticCheckpoints,
  expectedTensors,
  finalNormLevel,
  loadTokenizer,
  openCheckpoint,
  PRESETS,
  syntheticLinear,
  syntheticNorm,
  writeSyntheticCheckpoints,
} from '../src/index.js';

const SEED = 7;

/** Byte equality of typed arrays (vitest's deep equality is far too slow for 40M-element arrays). */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
let root: string;
let bf16: Checkpoint;
let fp8: Checkpoint;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'qb-synth-'));
  await writeSyntheticCheckpoints({ preset: 'tiny', outDir: root, seed: SEED });
  bf16 = await openCheckpoint(join(root, 'bf16'));
  fp8 = await openCheckpoint(join(root, 'fp8'));
});

afterAll(async () => {
  await bf16?.close();
  await fp8?.close();
  await rm(root, { recursive: true, force: true });
});

describe('synth --preset tiny', () => {
  it('writes two complete Hugging Face model directories that validate', async () => {
    expect(bf16.format).toBe('bf16');
    expect(fp8.format).toBe('fp8');
    expect(fp8.config.quantization?.blockSize).toEqual([128, 128]);
    for (const dir of ['bf16', 'fp8']) {
      const generation = JSON.parse(await readFile(join(root, dir, 'generation_config.json'), 'utf8'));
      expect(generation.eos_token_id).toEqual([151645, 151643]);
      const tokenizer = await loadTokenizer(join(root, dir), { vocabSize: bf16.config.vocabSize });
      expect(tokenizer.templateVariant).toBe('hybrid');
    }
    expect(bf16.config).toEqual(PRESETS.tiny);
  });

  it('loads back bit-exactly: every BF16 tensor equals the seeded generator rounded to BF16', async () => {
    for (const spec of expectedTensors(bf16.config, 'bf16')) {
      const stored = await bf16.readBf16(spec.name);
      const [rows = 0, cols = 1] = spec.shape;
      if (spec.role !== 'linear') continue;
      const expected = f32ArrayToBf16(syntheticLinear(SEED, spec.name, rows, cols));
      expect(sameBytes(stored, expected), spec.name).toBe(true);
    }
    const norm = await bf16.readF32('model.layers.1.input_layernorm.weight');
    expect(sameBytes(norm, bf16ArrayToF32(f32ArrayToBf16(syntheticNorm(SEED, 'model.layers.1.input_layernorm.weight', 256))))).toBe(true);
  });

  it('the FP8 checkpoint is the BF16 one block-quantised: embeddings and norms identical, projections within e4m3 error', async () => {
    expect(sameBytes(await fp8.readBf16('model.embed_tokens.weight'), await bf16.readBf16('model.embed_tokens.weight'))).toBe(true);
    expect(sameBytes(await fp8.readF32('model.norm.weight'), await bf16.readF32('model.norm.weight'))).toBe(true);
    for (const name of Object.values(fp8.linearNames(2))) {
      const reference = bf16ArrayToF32(await bf16.readBf16(name));
      const weight = await fp8.readFp8(name);
      const [rows, cols] = weight.shape;
      const restored = dequantizeBlockFp8(weight.codes, weight.scaleInv, rows, cols);
      let errorSquares = 0;
      let referenceSquares = 0;
      for (let i = 0; i < reference.length; i++) {
        errorSquares += (restored[i]! - reference[i]!) ** 2;
        referenceSquares += reference[i]! ** 2;
      }
      // e4m3 keeps 3 mantissa bits: relative RMS error of a round-to-nearest float format is about 2^-4/√3 ≈ 3.6%.
      const relativeRms = Math.sqrt(errorSquares / referenceSquares);
      expect(relativeRms, name).toBeGreaterThan(0.01);
      expect(relativeRms, name).toBeLessThan(0.05);
    }
  });

  it('has trained-model-like statistics: heavy-tailed projections, norms that are not all ones', async () => {
    const weights = bf16ArrayToF32(await bf16.readBf16('model.layers.0.mlp.gate_proj.weight'));
    let m2 = 0;
    let m4 = 0;
    for (const w of weights) {
      m2 += w * w;
      m4 += w ** 4;
    }
    m2 /= weights.length;
    m4 /= weights.length;
    const kurtosis = m4 / (m2 * m2);
    expect(kurtosis).toBeGreaterThan(4); // Gaussian is 3
    expect(Math.sqrt(m2)).toBeGreaterThan(0.5 / Math.sqrt(256));
    expect(Math.sqrt(m2)).toBeLessThan(2 / Math.sqrt(256));
    const norm = await bf16.readF32('model.layers.0.self_attn.q_norm.weight');
    const distinct = new Set(norm);
    expect(distinct.size).toBeGreaterThan(norm.length / 2);
    const final = await bf16.readF32('model.norm.weight');
    const mean = final.reduce((a, b) => a + b, 0) / final.length;
    expect(mean / finalNormLevel(bf16.config)).toBeGreaterThan(0.8);
    expect(mean / finalNormLevel(bf16.config)).toBeLessThan(1.2);
  });

  it('is reproducible: the same seed gives the same bytes, another seed does not', async () => {
    const other = await mkdtemp(join(tmpdir(), 'qb-synth-'));
    try {
      await writeSyntheticCheckpoints({ preset: 'tiny', outDir: other, seed: SEED });
      const a = await readFile(join(root, 'fp8', 'model.safetensors'));
      const b = await readFile(join(other, 'fp8', 'model.safetensors'));
      expect(a.equals(b)).toBe(true);
      await writeSyntheticCheckpoints({ preset: 'tiny', outDir: other, seed: SEED + 1 });
      const c = await readFile(join(other, 'fp8', 'model.safetensors'));
      expect(a.equals(c)).toBe(false);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('caches: a second ensure reuses the directory', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'qb-synth-cache-'));
    try {
      const first = await ensureSyntheticCheckpoints({ preset: 'tiny', seed: 3, cacheDir });
      const second = await ensureSyntheticCheckpoints({ preset: 'tiny', seed: 3, cacheDir });
      expect(first.made).toBe(true);
      expect(second.made).toBe(false);
      expect(second.fp8Dir).toBe(first.fp8Dir);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it('writes BF16 inverse scales when asked, and they read back as float32', async () => {
    const other = await mkdtemp(join(tmpdir(), 'qb-synth-'));
    try {
      await writeSyntheticCheckpoints({ preset: 'tiny', outDir: other, seed: SEED, scaleDtype: 'BF16' });
      const checkpoint = await openCheckpoint(join(other, 'fp8'));
      const name = 'model.layers.0.self_attn.q_proj.weight';
      expect(checkpoint.store.tensors.get(`${name}_scale_inv`)?.dtype).toBe('BF16');
      const f32Scales = (await fp8.readFp8(name)).scaleInv;
      const bf16Scales = (await checkpoint.readFp8(name)).scaleInv;
      expect(sameBytes(bf16Scales, bf16ArrayToF32(f32ArrayToBf16(f32Scales)))).toBe(true);
      await checkpoint.close();
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});
