/**
 * The engine registry: which engines exist, loading one by name (lazily, so an engine's native or GPU
 * dependencies are only touched when it is asked for), and why an engine cannot run here.
 */
import { type Engine, EngineUnavailableError } from '@quantbench/core';

export interface EngineEntry {
  readonly name: string;
  readonly summary: string;
  readonly create: () => Promise<Engine>;
}

export const ENGINES: readonly EngineEntry[] = [
  {
    name: 'cpu',
    summary: 'reference engine: TypeScript on worker threads, every kernel mode',
    create: async () => (await import('@quantbench/engine-cpu')).createCpuEngine(),
  },
  {
    name: 'webgpu',
    summary: 'WGSL kernels on Dawn (a hardware adapter, else SwiftShader) or a browser',
    create: async () => (await import('@quantbench/engine-webgpu')).createWebGpuEngine(),
  },
  {
    name: 'cuda',
    summary: 'CUDA kernels in a Node-API addon on an NVIDIA GPU (compute capability 8.0+)',
    create: async () => (await import('@quantbench/engine-cuda')).createCudaEngine(),
  },
];

export const ENGINE_NAMES = ENGINES.map((entry) => entry.name);

export type EngineStatus =
  | { readonly name: string; readonly available: true; readonly device: string }
  | { readonly name: string; readonly available: false; readonly reason: string };

function entry(name: string): EngineEntry {
  const found = ENGINES.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`unknown engine '${name}': expected one of ${ENGINE_NAMES.join(', ')}`);
  return found;
}

/** Creates the named engine; an engine that cannot run here throws EngineUnavailableError with the reason. */
export async function loadEngine(name: string): Promise<Engine> {
  try {
    return await entry(name).create();
  } catch (error) {
    if (error instanceof EngineUnavailableError) throw error;
    if (error instanceof Error && error.message.startsWith('unknown engine')) throw error;
    throw new EngineUnavailableError(name, error instanceof Error ? error.message : String(error));
  }
}

/** Every registered engine, available or not, with the device it would run on or the reason it cannot. */
export async function engineStatuses(): Promise<EngineStatus[]> {
  const statuses: EngineStatus[] = [];
  for (const { name } of ENGINES) {
    try {
      const engine = await loadEngine(name);
      const { device } = await engine.capabilities();
      await engine.dispose();
      statuses.push({ name, available: true, device });
    } catch (error) {
      statuses.push({ name, available: false, reason: error instanceof EngineUnavailableError ? error.reason : String(error) });
    }
  }
  return statuses;
}
