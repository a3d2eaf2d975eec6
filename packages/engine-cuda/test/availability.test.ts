/**
 * What runs on every machine: the addon is built wherever nvcc exists (so CI proves the native code compiles and
 * links; the package's build also compiles the standalone device programs, scripts/check-device-programs.mjs), it
 * loads and exports the probe, the probe answers without crashing (no driver here: it says why), and the factory
 * turns any unavailability into `CUDA engine unavailable: <reason>`.
 */
import { existsSync } from 'node:fs';
import { EngineUnavailableError } from '@quantbench/core';
import { describe, expect, it } from 'vitest';
import { createCudaEngine } from '../src/index.js';
import { ADDON_PATH, loadAddon } from '../src/native.js';
import { cuda, findNvcc } from './cuda-status.js';

const nvcc = findNvcc();

describe('cuda addon', () => {
  it.skipIf(!nvcc)(`is built by \`pnpm build\` where nvcc exists${nvcc ? ` (${nvcc})` : ' (skipped: no nvcc here)'}`, () => {
    expect(existsSync(ADDON_PATH), `${ADDON_PATH} after the build`).toBe(true);
    const load = loadAddon();
    expect('reason' in load ? load.reason : '').toBe('');
    if (!('addon' in load)) return;
    expect(typeof load.addon.probe).toBe('function');
    expect(typeof load.addon.CudaModel).toBe('function');
    expect(load.addon.napiVersion).toBe(8);
  });

  it.skipIf(!existsSync(ADDON_PATH))('probes CUDA without crashing: devices, or why CUDA cannot run', () => {
    const load = loadAddon();
    if (!('addon' in load)) throw new Error(load.reason);
    const probe = load.addon.probe();
    // A second probe answers the same (a failed probe leaves no CUDA error behind).
    expect(load.addon.probe()).toEqual(probe);
    expect(probe.runtimeVersion).toBeGreaterThanOrEqual(12_000);
    if (probe.ok) {
      expect(probe.reason).toBe('');
      expect(probe.devices.some((device) => device.usable && device.major >= 8)).toBe(true);
      for (const device of probe.devices) expect(device.name.length).toBeGreaterThan(0);
    } else {
      expect(probe.reason).toMatch(/driver|device|compute capability/);
      console.log(`CUDA probe: ${probe.reason}`);
    }
  });
});

describe('cuda native model without a usable device', () => {
  it.skipIf(!existsSync(ADDON_PATH) || cuda.available)('fails with an Error naming the CUDA call, and does not crash', () => {
    const load = loadAddon();
    if (!('addon' in load)) throw new Error(load.reason);
    const options = {
      device: 0, hiddenSize: 256, intermediateSize: 704, numLayers: 1, numHeads: 4, numKvHeads: 2, headDim: 64, vocabSize: 1000,
      rmsNormEps: 1e-6, tieWordEmbeddings: true, kernel: 'bf16' as const, maxRows: 8, maxBatch: 2, maxContext: 64,
    };
    expect(() => new load.addon.CudaModel(options)).toThrow(/^cuda\w+\(.*\) failed: cudaError\w+ \(.+\)$/);
    expect(() => new load.addon.CudaModel({ ...options, kernel: 'int4' as never })).toThrow(/unknown kernel mode 'int4'/);
    expect(() => new load.addon.CudaModel({ ...options, hiddenSize: undefined as never })).toThrow(/'hiddenSize' must be a number/);
  });
});

describe('cuda engine factory', () => {
  it.skipIf(cuda.available)('reports CUDA as unavailable with the reason, as an EngineUnavailableError', async () => {
    if (cuda.available) return;
    const error = await createCudaEngine().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(EngineUnavailableError);
    expect((error as EngineUnavailableError).engine).toBe('cuda');
    expect((error as EngineUnavailableError).reason).toBe(cuda.reason);
    expect((error as Error).message).toBe(`CUDA engine unavailable: ${cuda.reason}`);
  });

  it.skipIf(!cuda.available)('names the GPU in its capabilities', async () => {
    const engine = await createCudaEngine();
    try {
      const capabilities = await engine.capabilities();
      expect(capabilities.engine).toBe('cuda');
      expect(capabilities.device).toMatch(/\(sm_\d+, [\d.]+ GiB, driver CUDA \d+\.\d, runtime \d+\.\d\)$/);
    } finally {
      await engine.dispose();
    }
  });
});
