/**
 * The CPU calibration probe: a fixed piece of JavaScript arithmetic (float64 dot products over a float32 array,
 * the inner loop of the CPU engine's kernels) timed in the benchmark's own process. Engine figures are divided
 * by it, so a run on a busier or slower machine is compared with the baseline in units of "this machine, now".
 */
import { summarize, type SampleSummary } from './sample-stats.js';

const LENGTH = 1 << 18;
const PASSES = 48;
let data: Float32Array | undefined;

function probeOnce(): number {
  data ??= Float32Array.from({ length: LENGTH }, (_, i) => Math.sin(i) * 0.5);
  const start = performance.now();
  let total = 0;
  for (let pass = 0; pass < PASSES; pass++) {
    let s0 = 0;
    let s1 = 0;
    for (let i = 0; i < LENGTH; i += 2) {
      s0 += data[i]! * data[(i + pass) & (LENGTH - 1)]!;
      s1 += data[i + 1]! * data[(i + 1 + pass) & (LENGTH - 1)]!;
    }
    total += s0 + s1;
  }
  const ms = performance.now() - start;
  if (!Number.isFinite(total)) throw new Error('calibration probe: not finite');
  return ms;
}

/** Accumulates probe samples over a run (a few at the start and before each engine). */
export class CalibrationProbe {
  private readonly samples: number[] = [];

  /** Runs the probe `count` times after one warm-up. */
  measure(count = 5): void {
    probeOnce();
    for (let i = 0; i < count; i++) this.samples.push(probeOnce());
  }

  summary(): SampleSummary {
    if (this.samples.length === 0) this.measure();
    return summarize(this.samples);
  }
}
