import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Engine,
  type EngineCapabilities,
  type EngineFactory,
  type LoadedModel,
  type LoadOptions,
} from '@quantbench/core';
import { hashKernelDirectory, sourceClosure } from '@quantbench/core/node';
import { assertKernelMatchesCheckpoint, loadLocalModel, ropeFrequencies, ropeTable } from '@quantbench/model';
import { CudaForward } from './forward.js';
import { cudaUnavailable, describeDevice, type NativeDevice, type NativeModel, probeCuda } from './native.js';
import { uploadWeights } from './weights.js';

export interface CudaEngineOptions {
  /** Tokens per prefill chunk (default 256). */
  readonly prefillChunk?: number;
  /** CUDA device index (default: the first of compute capability 8.0+). */
  readonly device?: number;
}

const NATIVE_INCLUDE_DIRS = ['../native/kernels/', '../native/model/'].map((dir) => fileURLToPath(new URL(dir, import.meta.url)));

/** What CMakeLists.txt compiles into the addon (native/kernels, native/model, native/addon), and itself. */
async function addonSources(): Promise<string[]> {
  const native = fileURLToPath(new URL('../native/', import.meta.url));
  const files: string[] = [fileURLToPath(new URL('../CMakeLists.txt', import.meta.url))];
  for (const dir of ['kernels', 'model', 'addon']) {
    for (const entry of (await readdir(join(native, dir))).sort()) if (/\.(cu|cc)$/.test(entry)) files.push(join(native, dir, entry));
  }
  return files;
}

const DEFAULT_MAX_BATCH = 8;
const DEFAULT_MAX_CONTEXT = 8192;

/**
 * The CUDA engine: a Node-API addon running CUDA kernels (native/kernels) over weights kept in their stored formats
 * (BF16; FP8 e4m3 with 128×128 block scales). Throws EngineUnavailableError (`CUDA engine unavailable: <reason>`)
 * where the addon is not built or cannot load, or no device of compute capability 8.0+ is found.
 */
export const createCudaEngine: EngineFactory<CudaEngineOptions> = async (options = {}) => {
  const found = probeCuda();
  if (!found.available) throw cudaUnavailable(found.reason);
  const { addon, probe } = found;
  let device: NativeDevice | undefined;
  if (options.device === undefined) device = probe.devices.find((candidate) => candidate.usable);
  else {
    device = probe.devices.find((candidate) => candidate.index === options.device);
    if (!device) throw cudaUnavailable(`no CUDA device ${options.device} (found ${probe.devices.length})`);
    if (!device.usable) throw cudaUnavailable(`CUDA device ${device.index} (${device.name}) has compute capability ${device.major}.${device.minor}, below 8.0`);
  }
  if (!device) throw cudaUnavailable('no CUDA device of compute capability 8.0 or newer');
  const deviceIndex = device.index;
  const description = describeDevice(device, probe);
  const prefillChunk = options.prefillChunk ?? 256;
  const loaded = new Set<LoadedModel>();
  const engine: Engine = {
    name: 'cuda',
    async capabilities(): Promise<EngineCapabilities> {
      return {
        engine: 'cuda',
        device: description,
        formats: ['bf16', 'fp8'],
        kernelModes: ['bf16', 'w8a16', 'w8a8'],
        maxContext: DEFAULT_MAX_CONTEXT,
        maxBatch: DEFAULT_MAX_BATCH,
        logits: true,
      };
    },
    load(load: LoadOptions): Promise<LoadedModel> {
      return loadLocalModel({
        engine: 'cuda',
        load,
        defaults: { maxBatch: DEFAULT_MAX_BATCH, maxContext: DEFAULT_MAX_CONTEXT },
        loaded,
        build: async (checkpoint, limits) => {
          assertKernelMatchesCheckpoint(checkpoint, load.kernel); // before any device allocation
          const c = checkpoint.config;
          const maxRows = Math.max(prefillChunk, limits.maxBatch);
          const model: NativeModel = new addon.CudaModel({
            device: deviceIndex,
            hiddenSize: c.hiddenSize,
            intermediateSize: c.intermediateSize,
            numLayers: c.numLayers,
            numHeads: c.numHeads,
            numKvHeads: c.numKvHeads,
            headDim: c.headDim,
            vocabSize: c.vocabSize,
            rmsNormEps: c.rmsNormEps,
            tieWordEmbeddings: c.tieWordEmbeddings,
            kernel: load.kernel,
            maxRows,
            ...limits,
          });
          try {
            await uploadWeights(model, checkpoint, load.kernel);
            model.uploadRope(ropeTable(ropeFrequencies(c), limits.maxContext));
            model.finishLoad();
          } catch (error) {
            model.dispose();
            throw error;
          }
          return new CudaForward(model, { maxRows, vocabSize: c.vocabSize, ...limits });
        },
      });
    },
    kernelSources: () => hashKernelDirectory(new URL('../native/kernels/', import.meta.url), new URL('../', import.meta.url), { includeDirs: NATIVE_INCLUDE_DIRS }),
    async sourceClosure() {
      return (await sourceClosure([fileURLToPath(import.meta.url), ...(await addonSources())], { includeDirs: NATIVE_INCLUDE_DIRS })).sha256;
    },
    async dispose(): Promise<void> {
      await Promise.all([...loaded].map((model) => model.dispose()));
    },
  };
  return engine;
};
