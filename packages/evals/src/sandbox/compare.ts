/**
 * LiveCodeBench's stdin-test comparison (lcb_runner/evaluation/testing_util.py, `grade_stdio`), done on the host from
 * the program's captured stdout so that the program can never forge its verdict:
 * - both texts are `strip()`ped, split on "\n", and every line `strip()`ped (Python's notion of whitespace);
 * - the line counts must match;
 * - each line must match exactly, or else both lines must split (on whitespace) into `decimal.Decimal`s that are
 *   pairwise equal (so `1.0` matches `1`, `2.50` matches `2.5`, and `1e2` matches `100`; there is no tolerance).
 */

/** Characters for which Python's `str.isspace()` is true (what `str.strip()` and `str.split()` use). */
const PY_SPACE = '\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');
const SPLIT = new RegExp(`[${PY_SPACE}]+`);

export function pyStrip(s: string): string {
  return s.replace(STRIP, '');
}

/** Python's `s.split()` with no separator: runs of whitespace separate, empty fields are dropped. */
export function pySplit(s: string): string[] {
  return s.split(SPLIT).filter((part) => part.length > 0);
}

/** LCB's `get_stripped_lines`. */
export function strippedLines(s: string): string[] {
  return pyStrip(s)
    .split('\n')
    .map((line) => pyStrip(line));
}

type Dec =
  | { readonly kind: 'finite'; readonly negative: boolean; readonly digits: string; readonly exponent: bigint }
  | { readonly kind: 'inf'; readonly negative: boolean }
  | { readonly kind: 'nan'; readonly signaling: boolean };

const FINITE = /^([+-])?((?:\d(?:_?\d)*)?)(?:\.((?:\d(?:_?\d)*)?))?(?:[eE]([+-]?\d(?:_?\d)*))?$/;
const INFINITE = /^([+-])?(?:inf|infinity)$/i;
const NAN = /^([+-])?(s)?nan(\d*)$/i;

/** Parses a string as Python's `decimal.Decimal(str)` does (ASCII digits only); undefined when it would raise. */
export function parseDecimal(text: string): Dec | undefined {
  const s = pyStrip(text);
  const inf = INFINITE.exec(s);
  if (inf) return { kind: 'inf', negative: inf[1] === '-' };
  const nan = NAN.exec(s);
  if (nan) return { kind: 'nan', signaling: nan[2] !== undefined };
  const m = FINITE.exec(s);
  if (!m) return undefined;
  const intPart = (m[2] ?? '').replace(/_/g, '');
  const fracPart = (m[3] ?? '').replace(/_/g, '');
  if (intPart.length === 0 && fracPart.length === 0) return undefined;
  let exponent = BigInt((m[4] ?? '0').replace(/_/g, '')) - BigInt(fracPart.length);
  let digits = (intPart + fracPart).replace(/^0+/, '');
  const trailing = /0*$/.exec(digits)?.[0].length ?? 0;
  digits = digits.slice(0, digits.length - trailing);
  exponent += BigInt(trailing);
  if (digits.length === 0) exponent = 0n;
  return { kind: 'finite', negative: m[1] === '-', digits, exponent };
}

/** `Decimal.__eq__`; `'error'` where Python raises (a signaling NaN). */
function decimalEquals(a: Dec, b: Dec): boolean | 'error' {
  if ((a.kind === 'nan' && a.signaling) || (b.kind === 'nan' && b.signaling)) return 'error';
  if (a.kind === 'nan' || b.kind === 'nan') return false;
  if (a.kind === 'inf' || b.kind === 'inf') return a.kind === b.kind && a.negative === b.negative;
  if (a.digits.length === 0 || b.digits.length === 0) return a.digits.length === 0 && b.digits.length === 0;
  return a.negative === b.negative && a.digits === b.digits && a.exponent === b.exponent;
}

export interface StdoutComparison {
  /** `pass`, `wrong-answer`, or `error` where the LCB harness would raise (and score a runtime error). */
  readonly verdict: 'pass' | 'wrong-answer' | 'error';
  readonly message?: string;
}

function truncate(s: string, length = 300): string {
  return s.length <= length ? s : `${s.slice(0, length / 2)}...(truncated) ...${s.slice(-length / 2)}`;
}

/** Compares a program's stdout with the expected output exactly as LCB's `grade_stdio` does. */
export function compareStdout(actual: string, expected: string): StdoutComparison {
  const got = strippedLines(actual);
  const want = strippedLines(expected);
  if (got.length !== want.length) {
    return { verdict: 'wrong-answer', message: `Wrong answer: mismatched output length (${got.length} != ${want.length})` };
  }
  for (let i = 0; i < got.length; i++) {
    const g = got[i] as string;
    const w = want[i] as string;
    if (g === w) continue;
    const message = `Wrong answer at output_line_idx=${i}: ${truncate(g)} != ${truncate(w)}`;
    const gd = pySplit(g).map(parseDecimal);
    const wd = pySplit(w).map(parseDecimal);
    if (gd.some((d) => d === undefined) || wd.some((d) => d === undefined)) return { verdict: 'wrong-answer', message };
    if (gd.length !== wd.length) return { verdict: 'wrong-answer', message };
    for (let j = 0; j < gd.length; j++) {
      const eq = decimalEquals(gd[j] as Dec, wd[j] as Dec);
      if (eq === 'error') return { verdict: 'error', message: 'decimal.InvalidOperation (signaling NaN comparison)' };
      if (!eq) return { verdict: 'wrong-answer', message };
    }
  }
  return { verdict: 'pass' };
}
