/**
 * One WebGPU device with the limits and features quantbench kernels use: the adapter's largest buffer and
 * binding sizes (the Qwen3-4B embedding alone is 778 MB), and `subgroups` / `shader-f16` when offered.
 */
import { type AcquiredAdapter, acquireAdapter } from './acquire-gpu.js';
import { GpuMemory } from './gpu-memory.js';

export interface GpuFeatures {
  /** A CPU implementation of WebGPU: kernels avoid many workgroups and barriers there. */
  readonly software: boolean;
  readonly subgroups: boolean;
  readonly shaderF16: boolean;
  readonly timestampQuery: boolean;
}

export interface GpuContext {
  readonly device: GPUDevice;
  /** In words: the adapter and how it was found, e.g. `SwiftShader Device (Subzero) — SwiftShader (Dawn, Vulkan)`. */
  readonly description: string;
  readonly features: GpuFeatures;
  readonly limits: GPUSupportedLimits;
  readonly memory: GpuMemory;
  destroy(): void;
}

/**
 * Limits raised to what the adapter offers. Storage buffers per stage stay at WebGPU's default of 8, which every
 * browser grants: no kernel may bind more, and the tests (run at that default) would fail one that did.
 */
const RAISED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
] as const;

function describe(acquired: AcquiredAdapter): string {
  const info = acquired.adapter.info;
  const name = [info.vendor, info.device || info.description || info.architecture].filter(Boolean).join(' ').trim();
  return `${name || 'unknown adapter'} — ${acquired.source}`;
}

export async function createGpuContext(acquired?: AcquiredAdapter): Promise<GpuContext> {
  const found = acquired ?? (await acquireAdapter());
  const { adapter } = found;
  const features: GpuFeatures = {
    software: found.software,
    subgroups: adapter.features.has('subgroups'),
    shaderF16: adapter.features.has('shader-f16'),
    timestampQuery: adapter.features.has('timestamp-query'),
  };
  const requiredFeatures: GPUFeatureName[] = [];
  if (features.subgroups) requiredFeatures.push('subgroups');
  if (features.shaderF16) requiredFeatures.push('shader-f16');
  if (features.timestampQuery) requiredFeatures.push('timestamp-query');
  const requiredLimits: Record<string, number> = {};
  for (const limit of RAISED_LIMITS) requiredLimits[limit] = adapter.limits[limit];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  device.addEventListener('uncapturederror', (event) => {
    console.error(`WebGPU error: ${(event as GPUUncapturedErrorEvent).error.message}`);
  });
  const memory = new GpuMemory(device);
  return {
    device,
    description: describe(found),
    features,
    limits: device.limits,
    memory,
    destroy: () => {
      memory.destroyAll();
      device.destroy();
    },
  };
}
