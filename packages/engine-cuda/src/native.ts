/**
 * The Node-API addon (build/Release/quantbench_cuda.node, built by `pnpm build` with nvcc) and its types. Loading
 * it never throws: a missing addon (not built), a load failure, or a probe that finds no usable device all become
 * a reason, which the engine factory turns into `CUDA engine unavailable: <reason>`.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { EngineUnavailableError, type KernelMode } from '@quantbench/core';

/** Where the build puts the addon (the same path from src/ and dist/). */
export const ADDON_PATH = fileURLToPath(new URL('../build/Release/quantbench_cuda.node', import.meta.url));

export interface NativeDevice {
  readonly index: number;
  readonly name: string;
  /** Compute capability major.minor. */
  readonly major: number;
  readonly minor: number;
  readonly totalBytes: number;
  readonly multiprocessors: number;
  /** Compute capability 8.0 or newer. */
  readonly usable: boolean;
}

/** What the addon's probe found, without creating a CUDA context. */
export interface NativeProbe {
  readonly ok: boolean;
  /** Why CUDA cannot run here (empty when ok). */
  readonly reason: string;
  /** The driver's CUDA version as 1000·major + 10·minor (0 without a driver). */
  readonly driverVersion: number;
  /** The CUDA runtime linked into the addon, same encoding. */
  readonly runtimeVersion: number;
  readonly devices: readonly NativeDevice[];
}

export interface NativeModelOptions {
  readonly device: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly rmsNormEps: number;
  readonly tieWordEmbeddings: boolean;
  readonly kernel: KernelMode;
  readonly maxRows: number;
  readonly maxBatch: number;
  readonly maxContext: number;
}

export interface NativeMemoryCounter {
  readonly live: number;
  readonly peak: number;
}

export interface NativeMemory {
  readonly categories: Readonly<Record<'weights' | 'kv-cache' | 'activations' | 'scratch', NativeMemoryCounter>>;
  /** Every allocation of the model's tracking allocator. */
  readonly live: number;
  readonly peak: number;
  /** cudaMemGetInfo now. */
  readonly deviceFree: number;
  readonly deviceTotal: number;
  /** Device memory in use (total − free) when the model was created and when it finished loading. */
  readonly deviceUsedBeforeLoad: number;
  readonly deviceUsedAfterLoad: number;
}

/** Layer norm indices: LAYER_NORMS order of @quantbench/model. */
export const NORM_INDEX = {
  input_layernorm: 0,
  post_attention_layernorm: 1,
  'self_attn.q_norm': 2,
  'self_attn.k_norm': 3,
} as const;

export interface NativeModel {
  uploadEmbedding(bits: Uint16Array): void;
  uploadLmHead(bits: Uint16Array): void;
  uploadNorm(layer: number, norm: number, values: Float32Array): void;
  uploadFinalNorm(values: Float32Array): void;
  /** `projection`: index into LINEAR_PROJECTIONS. */
  uploadLinearBf16(layer: number, projection: number, bits: Uint16Array): void;
  uploadLinearFp8(layer: number, projection: number, codes: Uint8Array, scaleInv: Float32Array): void;
  /** [maxContext, headDim/2, 2] (cos, sin), as ropeTable in @quantbench/model. */
  uploadRope(table: Float32Array): void;
  /** Allocates the KV cache (after checking it fits) and the activations. */
  finishLoad(): void;
  /** Logits of `logitRows`, [logitRows.length, vocab]. */
  run(tokens: Int32Array, slots: Int32Array, positions: Int32Array, logitRows: Int32Array): Promise<Float32Array>;
  /** The k best (value, token) pairs of every row, [rows, k] each, sorted descending, ties to the lower token. */
  runTopK(tokens: Int32Array, slots: Int32Array, positions: Int32Array, k: number): Promise<{ values: Float32Array; indices: Int32Array }>;
  memory(): NativeMemory;
  graphs(): { enabled: boolean; captured: number; note: string };
  dispose(): void;
}

export interface NativeAddon {
  probe(): NativeProbe;
  readonly CudaModel: new (options: NativeModelOptions) => NativeModel;
  readonly napiVersion: number;
}

export type AddonLoad = { readonly addon: NativeAddon } | { readonly reason: string };

let cached: AddonLoad | undefined;

/** Loads the addon once; never throws. */
export function loadAddon(): AddonLoad {
  if (cached) return cached;
  if (!existsSync(ADDON_PATH)) {
    cached = {
      reason: `the native addon is not built (${ADDON_PATH} is missing): install the CUDA toolkit 12.8+ (nvcc) and run \`pnpm --filter @quantbench/engine-cuda build\``,
    };
    return cached;
  }
  try {
    const require = createRequire(import.meta.url);
    const addon = require(ADDON_PATH) as NativeAddon;
    if (typeof addon.probe !== 'function' || typeof addon.CudaModel !== 'function') {
      cached = { reason: `the native addon at ${ADDON_PATH} does not export probe and CudaModel: rebuild it` };
    } else cached = { addon };
  } catch (error) {
    cached = { reason: `the native addon failed to load (${error instanceof Error ? error.message : String(error)})` };
  }
  return cached;
}

export type CudaProbe =
  | { readonly available: true; readonly addon: NativeAddon; readonly probe: NativeProbe }
  | { readonly available: false; readonly reason: string; readonly probe?: NativeProbe };

/** Whether the CUDA engine can run here: the addon loads and its probe finds a device of compute capability 8.0+. */
export function probeCuda(): CudaProbe {
  const load = loadAddon();
  if (!('addon' in load)) return { available: false, reason: load.reason };
  let probe: NativeProbe;
  try {
    probe = load.addon.probe();
  } catch (error) {
    return { available: false, reason: `the CUDA probe failed: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (!probe.ok) return { available: false, reason: probe.reason, probe };
  return { available: true, addon: load.addon, probe };
}

/** The error every CUDA unavailability becomes: `CUDA engine unavailable: <reason>`. */
export function cudaUnavailable(reason: string): EngineUnavailableError {
  return new EngineUnavailableError('cuda', reason, 'CUDA');
}

/** "12.8" from 12080. */
export function cudaVersion(version: number): string {
  return `${Math.floor(version / 1000)}.${Math.floor((version % 1000) / 10)}`;
}

/** A device in words: `NVIDIA H200 (sm_90, 139.8 GiB, driver CUDA 12.8, runtime 13.0)`. */
export function describeDevice(device: NativeDevice, probe: NativeProbe): string {
  const gib = (device.totalBytes / 2 ** 30).toFixed(1);
  return `${device.name} (sm_${device.major}${device.minor}, ${gib} GiB, driver CUDA ${cudaVersion(probe.driverVersion)}, runtime ${cudaVersion(probe.runtimeVersion)})`;
}
