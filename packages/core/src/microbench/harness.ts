/**
 * How a microbenchmark case is timed, for every engine: warm-up until the kernel stops getting faster, then timed
 * calls. In a bench run (`runMicrobenchmarks`) each sample of a kernel is paired with a sample of the reference
 * probe timed right after it, so machine load that changes during the run cancels in the fraction of the ceiling;
 * the gate pairs samples of two source trees instead and uses `warmUp` and `timeCall` directly.
 */
import type { MicrobenchmarkRow, MicrobenchmarkSuite, PreparedMicrobenchmark } from './cases.js';
import { microbenchmarkSelected } from './cases.js';

/** One call of a prepared case, in milliseconds. */
export async function timeCall(prepared: PreparedMicrobenchmark): Promise<number> {
  const start = performance.now();
  const pending = prepared.run();
  if (pending) await pending;
  return performance.now() - start;
}

/**
 * Warm-up before timing. JIT compilers tier a kernel up over several calls (measured on the CPU engine: the first 9
 * timed calls of a cold w8a16 GEMV ran 2× slower than the same kernel later in the process) and a GPU compiles
 * its pipelines on the first call, so a fixed count is not enough: after at least WARM_UP_CALLS calls and
 * WARM_UP_MS, warming goes on until WARM_UP_STABLE_CALLS calls in a row beat the best so far by less than 5%, or
 * until `maxMs` (default WARM_UP_MAX_MS).
 */
const WARM_UP_MS = 250;
const WARM_UP_CALLS = 3;
const WARM_UP_STABLE_CALLS = 5;
const WARM_UP_MAX_MS = 3000;

export async function warmUp(prepared: PreparedMicrobenchmark, maxMs = WARM_UP_MAX_MS): Promise<void> {
  const start = performance.now();
  let best = Number.POSITIVE_INFINITY;
  let callsWithoutGain = 0;
  for (let calls = 1; ; calls++) {
    const ms = await timeCall(prepared);
    callsWithoutGain = ms < 0.95 * best ? 0 : callsWithoutGain + 1;
    best = Math.min(best, ms);
    const elapsed = performance.now() - start;
    if (calls >= WARM_UP_CALLS && (elapsed >= maxMs || (elapsed >= WARM_UP_MS && callsWithoutGain >= WARM_UP_STABLE_CALLS))) return;
  }
}

export interface RunMicrobenchmarksOptions {
  /** Timed samples per case, after the warm-up (default 5). */
  readonly repeats?: number;
  /** Only the cases whose name contains one of these strings (the reference probe always runs). */
  readonly only?: readonly string[];
  readonly onProgress?: (message: string) => void;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Times every selected case of a suite: the reference probe first on its own, then each case with a reference
 * sample right after each of its samples. One case is prepared at a time besides the reference.
 */
export async function runMicrobenchmarks(suite: MicrobenchmarkSuite, options: RunMicrobenchmarksOptions = {}): Promise<MicrobenchmarkRow[]> {
  const repeats = options.repeats ?? 5;
  const reference = suite.cases.find((candidate) => candidate.reference);
  if (!reference) throw new Error('microbenchmarks: the suite has no reference probe');
  const describe = ({ name, kernel, reference: isReference, bytes, flops, source }: (typeof suite.cases)[number]) => ({
    name,
    kernel,
    reference: isReference,
    bytes,
    flops,
    ...(source ? { source } : {}),
  });
  options.onProgress?.(`kernels: ${reference.name}`);
  const probe = await reference.prepare();
  try {
    await warmUp(probe);
    const rows: MicrobenchmarkRow[] = [{ ...describe(reference), samplesMs: await timeSamples(probe, Math.max(repeats, 5)) }];
    for (const candidate of suite.cases) {
      if (candidate.reference || !microbenchmarkSelected(candidate.name, options.only)) continue;
      options.onProgress?.(`kernels: ${candidate.name}`);
      const prepared = await candidate.prepare();
      try {
        await warmUp(prepared);
        const samplesMs: number[] = [];
        const referenceSamplesMs: number[] = [];
        for (let i = 0; i < repeats; i++) {
          samplesMs.push(await timeCall(prepared));
          referenceSamplesMs.push(await timeCall(probe));
        }
        rows.push({ ...describe(candidate), samplesMs, referenceSamplesMs });
      } finally {
        await prepared.dispose();
      }
      await yieldToEventLoop();
    }
    return rows;
  } finally {
    await probe.dispose();
  }
}

async function timeSamples(prepared: PreparedMicrobenchmark, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) samples.push(await timeCall(prepared));
  return samples;
}
