/**
 * Finds a WebGPU adapter. In a browser that is `navigator.gpu`. In Node it is Dawn (the `webgpu` package): a
 * hardware adapter when the machine has one, else Dawn's Vulkan backend on SwiftShader, the software Vulkan
 * driver that Debian's `chromium` package ships — so CI without a GPU runs the same kernels. The choice can be
 * forced with QUANTBENCH_WEBGPU_ADAPTER=hardware|software.
 *
 * Browser-safe: the Node-only modules (`webgpu`, `node:fs`) are imported dynamically, on the Node path only.
 */

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface AcquiredAdapter {
  readonly adapter: GPUAdapter;
  /** How it was found, in words: `hardware (Dawn)`, `SwiftShader (Dawn, Vulkan)`, `navigator.gpu`. */
  readonly source: string;
  /** A CPU implementation of WebGPU (SwiftShader, llvmpipe), where kernels are chosen for a CPU's costs. */
  readonly software: boolean;
}

type AdapterPreference = 'auto' | 'hardware' | 'software';

function preference(): AdapterPreference {
  const value = process.env.QUANTBENCH_WEBGPU_ADAPTER ?? 'auto';
  if (value === 'auto' || value === 'hardware' || value === 'software') return value;
  throw new Error(`QUANTBENCH_WEBGPU_ADAPTER must be hardware, software or auto, not '${value}'`);
}

/** Dawn treats a CPU-based Vulkan driver as a real adapter; a hardware adapter is anything else. */
export function isSoftware(adapter: GPUAdapter): boolean {
  const info = adapter.info;
  return /swiftshader|llvmpipe|lavapipe/i.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}

/**
 * Dawn instances live as long as the process: node-webgpu keeps processing events on an instance after it made
 * an adapter, but an adapter or device does not keep its instance alive, so a garbage-collected instance crashes
 * the process (`std::system_error: Invalid argument`) at the next event.
 */
const dawnInstances: GPU[] = [];

async function dawnAdapter(): Promise<GPUAdapter | null> {
  const { create, globals } = await import('webgpu');
  // Dawn's globals (GPUBufferUsage, GPUMapMode, ...) are what browsers provide on `globalThis`.
  Object.assign(globalThis, globals);
  const gpu = create([]);
  dawnInstances.push(gpu);
  return gpu.requestAdapter({ powerPreference: 'high-performance' });
}

export async function acquireAdapter(): Promise<AcquiredAdapter> {
  if (typeof navigator !== 'undefined' && 'gpu' in navigator && navigator.gpu) {
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new Error('navigator.gpu returned no adapter (is WebGPU enabled in this browser?)');
    return { adapter, source: 'navigator.gpu', software: isSoftware(adapter) };
  }
  const wanted = preference();
  if (wanted !== 'software') {
    const adapter = await dawnAdapter();
    if (adapter && !isSoftware(adapter)) return { adapter, source: 'hardware (Dawn)', software: false };
    if (wanted === 'hardware') throw new Error('no hardware WebGPU adapter (QUANTBENCH_WEBGPU_ADAPTER=hardware)');
  }
  const { existsSync } = await import('node:fs');
  if (!existsSync(SWIFTSHADER_ICD)) {
    throw new Error(
      `no hardware WebGPU adapter, and no SwiftShader Vulkan driver at ${SWIFTSHADER_ICD}. ` +
        'Fix: install Debian packages chromium and libvulkan1 (bash scripts/setup.sh does), or run on a machine with a GPU',
    );
  }
  // The Vulkan loader reads VK_ICD_FILENAMES when Dawn creates its Vulkan instance, i.e. in create() below.
  process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const adapter = await dawnAdapter();
  if (!adapter) {
    throw new Error(`Dawn found no adapter on SwiftShader (${SWIFTSHADER_ICD}). Fix: install Debian's libvulkan1 (the Vulkan loader)`);
  }
  return { adapter, source: 'SwiftShader (Dawn, Vulkan)', software: true };
}
