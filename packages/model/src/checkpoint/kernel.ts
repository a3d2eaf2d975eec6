import { type KernelMode, weightFormatOf } from '@quantbench/core';
import { ModelFileError } from '../errors.js';
import type { Checkpoint } from './checkpoint.js';

/** Every engine's first check: the kernel mode must match the checkpoint's weight format. */
export function assertKernelMatchesCheckpoint(checkpoint: Checkpoint, kernel: KernelMode): void {
  const needed = weightFormatOf(kernel);
  if (checkpoint.format === needed) return;
  const found = checkpoint.format === 'fp8' ? 'an FP8 checkpoint (config.json has quantization_config)' : 'a BF16 checkpoint';
  const fix =
    needed === 'fp8'
      ? `point --model at the FP8 directory (e.g. DIR/fp8 from 'pnpm quantbench synth'), or use --kernel bf16`
      : `point --model at the BF16 directory, or use --kernel w8a16 / w8a8 for this one`;
  throw new ModelFileError(checkpoint.dir, `kernel mode '${kernel}' needs ${needed === 'fp8' ? 'an FP8' : 'a BF16'} checkpoint, but this is ${found}`, { fix });
}
