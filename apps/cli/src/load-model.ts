import { type Engine, KERNEL_MODES, type KernelMode, type LoadedModel } from '@quantbench/core';
import { ENGINE_NAMES, loadEngine } from '@quantbench/engines';
import { formatProgress, resolveRepo } from '@quantbench/model';
import { z } from 'zod';

export const engineName = z.enum(ENGINE_NAMES as [string, ...string[]], { error: `expected one of ${ENGINE_NAMES.join(', ')}` });
export const kernelMode = z.enum(KERNEL_MODES as [KernelMode, ...KernelMode[]], { error: `expected one of ${KERNEL_MODES.join(', ')}` });

export interface OpenedModel {
  readonly engine: Engine;
  readonly model: LoadedModel;
  close(): Promise<void>;
}

/** Resolves a directory or Hub repo id (with download progress on stderr), then loads it on the named engine. */
export async function openModel(
  engine: string,
  spec: string,
  kernel: KernelMode,
  limits: { maxContext?: number; maxBatch?: number } = {},
): Promise<OpenedModel> {
  const { dir } = await resolveRepo({ type: 'model', id: spec }, { onProgress: (p) => process.stderr.write(`\r${formatProgress(p)}`) });
  const instance = await loadEngine(engine);
  try {
    const model = await instance.load({ modelDir: dir, kernel, ...limits });
    return {
      engine: instance,
      model,
      close: async () => {
        await model.dispose();
        await instance.dispose();
      },
    };
  } catch (error) {
    await instance.dispose();
    throw error;
  }
}

export function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
