/** The test-only slowdown of microbenchmark cases (tests of the regression gate). */
/**
 * For tests of the gate only: the cases whose name contains `match` do `factor` times their work — the same kernel
 * on a shape that much larger (more output rows, positions or rows) under the same name — so a test can show which
 * slowdown the gate catches. Real work rather than a timed wait: a wait after the call is not what a slower kernel
 * does to the machine (measured here: spinning for a further 20% of a CPU GEMV's call time read as 10% slower in the
 * gate, 5% and 10% as nothing).
 */
export interface KernelSlowdown {
  readonly match: string;
  readonly factor: number;
}

/** `NAME=FACTOR[,NAME=FACTOR...]`, e.g. `gemv-b1 k_proj 1024x2560 bf16=1.1`; factors of at least 1. */
export function parseSlowdowns(text: string): KernelSlowdown[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const at = part.lastIndexOf('=');
      const factor = Number(part.slice(at + 1));
      if (at <= 0 || !Number.isFinite(factor) || factor < 1) {
        throw new Error(`slowdown '${part}': expected NAME=FACTOR with a factor of at least 1, e.g. 'gemv-b1 k_proj 1024x2560 bf16=1.1'`);
      }
      return { match: part.slice(0, at).trim(), factor };
    });
}

/** The factor a case named `name` is slowed by (1: not slowed). */
export function slowdownFactor(name: string, slowdowns: readonly KernelSlowdown[] | undefined): number {
  return slowdowns?.find((slowdown) => name.includes(slowdown.match))?.factor ?? 1;
}

/** `dim` grown by the slowdown of the case named `name` (at least by one), or `dim` itself. */
export function slowedDimension(name: string, dim: number, slowdowns: readonly KernelSlowdown[] | undefined): number {
  const factor = slowdownFactor(name, slowdowns);
  return factor === 1 ? dim : Math.max(dim + 1, Math.round(dim * factor));
}
