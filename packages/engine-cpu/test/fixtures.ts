import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSyntheticCheckpoints } from '@quantbench/model';

/** The tiny synthetic checkpoint pair, made once per machine and shared by every test file. */
export function tinyCheckpoints(): Promise<{ bf16Dir: string; fp8Dir: string }> {
  return ensureSyntheticCheckpoints({ preset: 'tiny', seed: 1, cacheDir: join(tmpdir(), 'quantbench-test-checkpoints') });
}
