import { decodeToF32, type DType, type WeightFormat } from '@quantbench/core';
import { CONFIG_FILE_NAME, readQwen3Config, type Qwen3Config } from '../config/index.js';
import { ModelFileError } from '../errors.js';
import { openModelSource, type ModelFiles, type ModelSource } from '../files/model-files.js';
import { openSafetensorsDir, type TensorInfo, type TensorStore } from '../safetensors/read.js';
import {
  LM_HEAD_NAME,
  expectedTensors,
  isFp8Weight,
  linearNames,
  scaleInvName,
  type ExpectedTensor,
  type LinearProjection,
} from './tensors.js';

/** An FP8 weight: E4M3 codes [out, in] and its float32 inverse block scales [ceil(out/128), ceil(in/128)]. */
export interface Fp8Weight {
  readonly codes: Uint8Array;
  readonly scaleInv: Float32Array;
  readonly shape: readonly [number, number];
  readonly scaleShape: readonly [number, number];
}

/** A validated Qwen3 checkpoint directory, open for reading tensor by tensor. */
export interface Checkpoint {
  /** The directory path or base URL (`files.location`). */
  readonly dir: string;
  /** Where the files are read from (closed by close() when openCheckpoint was given a path). */
  readonly files: ModelFiles;
  readonly config: Qwen3Config;
  readonly format: WeightFormat;
  readonly store: TensorStore;
  /** The tensors the model uses (validated at open), in model order. */
  readonly expected: readonly ExpectedTensor[];
  /** The weight names of layer `layer`'s seven linear projections. */
  linearNames(layer: number): Record<LinearProjection, string>;
  /** Whether a linear weight is stored FP8 (false for all in a BF16 checkpoint and for modules_to_not_convert). */
  isFp8(weightName: string): boolean;
  /** A BF16 tensor's raw bits (own, aligned buffer). */
  readBf16(name: string): Promise<Uint16Array>;
  /** An FP8 weight's codes and its inverse scales converted to float32 (whatever dtype they are stored in). */
  readFp8(weightName: string): Promise<Fp8Weight>;
  /** A BF16, F16 or F32 tensor as float32 (norm gains etc.). */
  readF32(name: string): Promise<Float32Array>;
  close(): Promise<void>;
}

interface Problem {
  readonly file: string;
  readonly tensor: string;
  readonly problem: string;
  readonly fix: string;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((dim, i) => dim === b[i]);
}

/** Number of decoder layers the store has tensors for (highest `model.layers.N.` + 1). */
function storedLayerCount(store: TensorStore): number {
  let count = 0;
  for (const name of store.tensors.keys()) {
    const match = /^model\.layers\.(\d+)\./.exec(name);
    if (match) count = Math.max(count, Number(match[1]) + 1);
  }
  return count;
}

const USE_MATCHING_CONFIG = 'use the config.json that came with these weights';

function checkExpected(
  store: TensorStore,
  config: Qwen3Config,
  format: WeightFormat,
  configFile: string,
  expected: readonly ExpectedTensor[],
): Problem[] {
  const problems: Problem[] = [];
  const layersStored = storedLayerCount(store);
  for (const want of expected) {
    const info = store.tensors.get(want.name);
    const wanted = `${want.dtypes.join(' or ')} ${shapeText(want.shape)}`;
    if (info === undefined) {
      let fix = 'the checkpoint is incomplete: download or export it again';
      if (want.layer !== null && want.layer >= layersStored && layersStored > 0) {
        fix = `${configFile} says num_hidden_layers ${config.numLayers} but the weights have ${layersStored} layers: ${USE_MATCHING_CONFIG}`;
      } else if (want.role === 'scale_inv') {
        const weight = store.tensors.get(want.name.slice(0, -'_scale_inv'.length));
        fix =
          weight !== undefined && weight.dtype === 'BF16'
            ? `the weights are BF16 but ${configFile} has an fp8 quantization_config: ${USE_MATCHING_CONFIG}`
            : 'every FP8 weight needs its inverse block scales: re-export the FP8 checkpoint';
      } else if (want.role === 'lm_head') {
        fix = `set tie_word_embeddings to true in ${configFile} if the model shares lm_head with the embeddings, else download the missing weights`;
      }
      const what = want.role === 'scale_inv' ? 'FP8 inverse-scale tensor missing' : 'tensor missing';
      problems.push({ file: store.source, tensor: want.name, problem: `${what} (expected ${wanted})`, fix });
      continue;
    }
    if (!want.dtypes.includes(info.dtype)) {
      let fix = `re-export the tensor as ${want.dtypes.join(' or ')}`;
      if (want.role === 'linear' && info.dtype === 'F8_E4M3' && format === 'bf16') {
        fix = `the weights are FP8 but ${configFile} has no quantization_config: ${USE_MATCHING_CONFIG}`;
      } else if (want.role === 'linear' && info.dtype === 'BF16' && format === 'fp8') {
        fix = `the weight is BF16 but ${configFile} has an fp8 quantization_config: ${USE_MATCHING_CONFIG} (or list the module in modules_to_not_convert)`;
      }
      problems.push({
        file: info.file,
        tensor: want.name,
        problem: `dtype is ${info.dtype}, expected ${want.dtypes.join(' or ')}`,
        fix,
      });
      continue;
    }
    if (!sameShape(info.shape, want.shape)) {
      problems.push({
        file: info.file,
        tensor: want.name,
        problem: `shape is ${shapeText(info.shape)}, expected ${shapeText(want.shape)} ([${want.dims.join(', ')}] from ${configFile})`,
        fix: USE_MATCHING_CONFIG,
      });
    }
  }
  return problems;
}

/** Tensors a Qwen3 model of this config would not use. Ignored: rotary inv_freq buffers, a tied lm_head copy. */
function checkUnexpected(
  store: TensorStore,
  config: Qwen3Config,
  format: WeightFormat,
  configFile: string,
  expected: readonly ExpectedTensor[],
): Problem[] {
  const known = new Set(expected.map((tensor) => tensor.name));
  const problems: Problem[] = [];
  for (const info of store.tensors.values()) {
    const name = info.name;
    if (known.has(name) || name.endsWith('.rotary_emb.inv_freq')) continue;
    if (name === LM_HEAD_NAME && config.tieWordEmbeddings) continue;
    let fix = `${USE_MATCHING_CONFIG}, or remove the tensor`;
    const layer = /^model\.layers\.(\d+)\./.exec(name);
    if (layer && Number(layer[1]) >= config.numLayers) {
      fix = `${configFile} says num_hidden_layers ${config.numLayers}: ${USE_MATCHING_CONFIG}`;
    } else if (name.endsWith('_scale_inv') && format === 'bf16') {
      fix = `the checkpoint looks FP8 but ${configFile} has no quantization_config: ${USE_MATCHING_CONFIG}`;
    } else if (name.endsWith('.input_scale') || name.endsWith('.weight_scale')) {
      fix = 'only block-FP8 checkpoints with dynamic activation scales (weight_scale_inv, no input_scale) are supported';
    } else if (name.endsWith('.bias')) {
      fix = 'Qwen3 linear layers have no bias: this is not a Qwen3 checkpoint';
    }
    problems.push({
      file: info.file,
      tensor: name,
      problem: `unexpected tensor (${info.dtype} ${shapeText(info.shape)}), not part of a Qwen3 model with this ${configFile}`,
      fix,
    });
  }
  return problems;
}

function throwFirst(problems: readonly Problem[]): void {
  const first = problems[0];
  if (first === undefined) return;
  let text = first.problem;
  if (problems.length > 1) {
    const more = problems.slice(1, 4).map((p) => `'${p.tensor}'`);
    text += ` (and ${problems.length - 1} more problem${problems.length === 2 ? '' : 's'}, e.g. ${more.join(', ')})`;
  }
  throw new ModelFileError(first.file, text, { tensor: first.tensor, fix: first.fix });
}

/**
 * Opens a Hugging Face Qwen3 checkpoint directory: config.json, then model.safetensors or the sharded
 * index. The format is 'fp8' when config.json has a quantization_config, else 'bf16'. Every expected tensor
 * is checked (present, dtype, shape from the config) and unexpected tensors are refused, all from headers
 * alone, before any weight is read; the first problem is thrown as a ModelFileError with the count of others.
 *
 * `dir` is a directory path (Node) or a ModelFiles, e.g. `httpModelFiles(url)` in a browser; a ModelFiles passed
 * in is left open by close().
 */
export async function openCheckpoint(dir: ModelSource): Promise<Checkpoint> {
  const { files, owned } = await openModelSource(dir);
  try {
    const config = await readQwen3Config(files);
    const format: WeightFormat = config.quantization === null ? 'bf16' : 'fp8';
    const store = await openSafetensorsDir(files);
    try {
      const expected = expectedTensors(config, format);
      throwFirst(checkExpected(store, config, format, CONFIG_FILE_NAME, expected));
      throwFirst(checkUnexpected(store, config, format, CONFIG_FILE_NAME, expected));
      return new CheckpointImpl(files, owned, config, format, store, expected);
    } catch (error) {
      await store.close().catch(() => undefined);
      throw error;
    }
  } catch (error) {
    if (owned) await files.close?.().catch(() => undefined);
    throw error;
  }
}

class CheckpointImpl implements Checkpoint {
  readonly dir: string;

  constructor(
    readonly files: ModelFiles,
    private readonly owned: boolean,
    readonly config: Qwen3Config,
    readonly format: WeightFormat,
    readonly store: TensorStore,
    readonly expected: readonly ExpectedTensor[],
  ) {
    this.dir = files.location;
  }

  linearNames(layer: number): Record<LinearProjection, string> {
    if (!(Number.isInteger(layer) && layer >= 0 && layer < this.config.numLayers)) {
      throw new RangeError(`layer ${layer} is out of range: the model has ${this.config.numLayers} layers`);
    }
    return linearNames(layer);
  }

  isFp8(weightName: string): boolean {
    return isFp8Weight(this.config, this.format, weightName);
  }

  #info(name: string, accepted: readonly DType[], use: string): TensorInfo {
    const info = this.store.tensors.get(name);
    if (info === undefined) {
      throw new ModelFileError(this.store.source, 'no such tensor in this checkpoint', {
        tensor: name,
        fix: 'check the tensor name (names are case-sensitive)',
      });
    }
    if (!accepted.includes(info.dtype)) {
      throw new ModelFileError(info.file, `dtype is ${info.dtype}, but ${use} reads ${accepted.join(' or ')}`, {
        tensor: name,
        fix: info.dtype === 'F8_E4M3' ? 'read FP8 weights with readFp8' : 'read it with readF32',
      });
    }
    return info;
  }

  async readBf16(name: string): Promise<Uint16Array> {
    const info = this.#info(name, ['BF16'], 'readBf16');
    const bytes = await this.store.read(info.name);
    return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  }

  async readFp8(weightName: string): Promise<Fp8Weight> {
    const info = this.#info(weightName, ['F8_E4M3'], 'readFp8');
    const scale = this.store.tensors.get(scaleInvName(weightName));
    if (scale === undefined) {
      throw new ModelFileError(this.store.source, `FP8 weight has no '${scaleInvName(weightName)}'`, {
        tensor: weightName,
        fix: 'every FP8 weight needs its inverse block scales: re-export the FP8 checkpoint',
      });
    }
    const scaleInfo = this.#info(scale.name, ['F32', 'BF16', 'F16'], 'readFp8');
    const [codes, scaleBytes] = await Promise.all([this.store.read(info.name), this.store.read(scaleInfo.name)]);
    return {
      codes,
      scaleInv: decodeToF32(scaleInfo.dtype, scaleBytes),
      shape: [info.shape[0] ?? 0, info.shape[1] ?? 0],
      scaleShape: [scaleInfo.shape[0] ?? 0, scaleInfo.shape[1] ?? 0],
    };
  }

  async readF32(name: string): Promise<Float32Array> {
    const info = this.#info(name, ['BF16', 'F16', 'F32'], 'readF32');
    const bytes = await this.store.read(info.name);
    if (info.dtype === 'F32') return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    return decodeToF32(info.dtype, bytes);
  }

  async close(): Promise<void> {
    await this.store.close();
    if (this.owned) await this.files.close?.();
  }
}
