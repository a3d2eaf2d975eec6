import { createHash } from 'node:crypto';

/**
 * The sampling seed of one sample: the first 6 bytes (48 bits, big-endian) of
 * `sha256("quantbench-sample\0" + runSeed + "\0" + problemId + "\0" + sampleIndex)`.
 *
 * It depends on nothing else (not the kernel, the thinking mode, the batch or the order of generation), so any
 * sample can be regenerated alone, and the BF16 and FP8 runs of a problem's sample i draw from the same RNG
 * stream: the pairs of the paired statistics differ only by the weights and kernels.
 */
export function sampleSeed(runSeed: number, problemId: string, sampleIndex: number): number {
  if (!Number.isSafeInteger(runSeed)) throw new RangeError(`run seed must be a safe integer, got ${runSeed}`);
  if (!Number.isInteger(sampleIndex) || sampleIndex < 0) throw new RangeError(`sample index must be a non-negative integer, got ${sampleIndex}`);
  const digest = createHash('sha256').update(`quantbench-sample\0${runSeed}\0${problemId}\0${sampleIndex}`, 'utf8').digest();
  return digest.readUIntBE(0, 6);
}
