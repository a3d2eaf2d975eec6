/**
 * Equivalence of math answers: exact string after normalisation, else numeric (both parse to finite numbers,
 * compared with a relative tolerance), else symbolic with mathjs (`simplify(a - b)` is 0, else a − b vanishes at a
 * few fixed probe points), guarded against exceptions, unsafe expression nodes and huge inputs.
 */
import { parse as mathParse, simplify as mathSimplify, type MathNode } from 'mathjs';
import { matchingBrace, normalizeMathAnswer, replaceCommand } from './normalize.js';

export type EquivalenceMethod = 'exact' | 'numeric' | 'symbolic';

export interface Equivalence {
  readonly equal: boolean;
  readonly method: EquivalenceMethod | null;
}

export interface EquivalenceOptions {
  /** Relative tolerance of the numeric comparison (default 1e-6; absolute below 1). */
  readonly relTol?: number;
  /** Skip the symbolic step for inputs longer than this (default 200 characters). */
  readonly maxSymbolicLength?: number;
}

/** Converts a (normalised) LaTeX expression to mathjs syntax, or null if it has commands we do not translate. */
export function latexToMathjs(latex: string): string | null {
  let s = latex;
  // \sqrt[n]{x} → nthRoot((x),(n))
  for (let guard = 0; guard < 50 && s.includes('\\sqrt['); guard++) {
    const at = s.indexOf('\\sqrt[');
    const closeIdx = s.indexOf(']', at);
    if (closeIdx < 0 || s[closeIdx + 1] !== '{') return null;
    const argClose = matchingBrace(s, closeIdx + 1);
    if (argClose < 0) return null;
    const n = s.slice(at + 6, closeIdx);
    const x = s.slice(closeIdx + 2, argClose);
    s = `${s.slice(0, at)}nthRoot((${x}),(${n}))${s.slice(argClose + 1)}`;
  }
  for (let guard = 0; guard < 50 && /\\frac\s*\{/.test(s); guard++) {
    const before = s;
    s = replaceFrac(s);
    if (s === before) return null;
  }
  s = replaceCommand(s, '\\sqrt', (x) => `sqrt(${x})`);
  s = s
    .replace(/\\pi(?![A-Za-z])/g, ' pi ')
    .replace(/\\(?:cdot|times)(?![A-Za-z])/g, '*')
    .replace(/\\div(?![A-Za-z])/g, '/')
    .replace(/\\(sin|cos|tan|exp)(?![A-Za-z])/g, '$1')
    .replace(/\\ln(?![A-Za-z])/g, 'log')
    .replace(/\^\s*\{/g, '^{')
    .replace(/\{/g, '(')
    .replace(/\}/g, ')');
  if (s.includes('\\')) return null;
  return s;
}

/** Replaces the innermost-first `\frac{a}{b}` with `((a)/(b))`. */
function replaceFrac(s: string): string {
  const at = s.search(/\\frac\s*\{/);
  if (at < 0) return s;
  const open1 = s.indexOf('{', at);
  const close1 = matchingBrace(s, open1);
  if (close1 < 0) return s;
  let open2 = close1 + 1;
  while (s[open2] === ' ') open2++;
  if (s[open2] !== '{') return s;
  const close2 = matchingBrace(s, open2);
  if (close2 < 0) return s;
  const a = s.slice(open1 + 1, close1);
  const b = s.slice(open2 + 1, close2);
  return `${s.slice(0, at)}((${a})/(${b}))${s.slice(close2 + 1)}`;
}

const ALLOWED_FUNCTIONS = new Set(['sqrt', 'nthRoot', 'sin', 'cos', 'tan', 'exp', 'log', 'abs']);
const CONSTANTS = new Set(['pi', 'e']);

/** Parses with mathjs and checks that the tree holds only arithmetic (no assignments, accessors, units calls …). */
function safeParse(expr: string): { node: MathNode; symbols: string[] } | null {
  if (expr.length === 0 || /[=!;:'"[\]]/.test(expr)) return null;
  let node: MathNode;
  try {
    node = mathParse(expr);
  } catch {
    return null;
  }
  const symbols = new Set<string>();
  let ok = true;
  node.traverse((n, _path, parent) => {
    switch (n.type) {
      case 'ConstantNode':
      case 'OperatorNode':
      case 'ParenthesisNode':
        return;
      case 'FunctionNode': {
        const name = (n as unknown as { fn: { name?: string } }).fn.name;
        if (name === undefined || !ALLOWED_FUNCTIONS.has(name)) ok = false;
        return;
      }
      case 'SymbolNode': {
        const isCallee = parent !== null && parent.type === 'FunctionNode' && (parent as unknown as { fn: MathNode }).fn === n;
        if (!isCallee) {
          const name = (n as unknown as { name: string }).name;
          if (!CONSTANTS.has(name)) symbols.add(name);
        }
        return;
      }
      default:
        ok = false;
    }
  });
  return ok ? { node, symbols: [...symbols] } : null;
}

function evalNumber(node: MathNode, scope: Record<string, number> = {}): number | null {
  try {
    const v: unknown = node.evaluate({ ...scope });
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

function close(a: number, b: number, relTol: number): boolean {
  return Math.abs(a - b) <= relTol * Math.max(1, Math.abs(a), Math.abs(b));
}

/** A finite number from a normalised answer with no free variables (`3/4`, `\frac{\sqrt{3}}{2}`, `2\pi`), or null. */
export function parseNumeric(normalized: string): number | null {
  if (/^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(normalized)) return Number(normalized);
  if (normalized.length > 200) return null;
  const expr = latexToMathjs(normalized);
  if (expr === null) return null;
  const parsed = safeParse(expr);
  if (parsed === null || parsed.symbols.length > 0) return null;
  return evalNumber(parsed.node);
}

const PROBES = [0.5772, 1.4142, 2.7183, -0.6931, 3.1416, 1.618];

function symbolicEqual(a: string, b: string, relTol: number, maxLen: number): boolean {
  if (a.length > maxLen || b.length > maxLen) return false;
  const ea = latexToMathjs(a);
  const eb = latexToMathjs(b);
  if (ea === null || eb === null) return false;
  const pa = safeParse(ea);
  const pb = safeParse(eb);
  if (pa === null || pb === null) return false;
  try {
    const diff = mathSimplify(mathParse(`(${ea}) - (${eb})`));
    if (diff.type === 'ConstantNode' && (diff as unknown as { value: unknown }).value === 0) return true;
  } catch {
    // fall through to probing
  }
  const symbols = [...new Set([...pa.symbols, ...pb.symbols])];
  if (symbols.length === 0 || symbols.length > 4) return false;
  let agreed = 0;
  for (let p = 0; p < PROBES.length; p++) {
    const scope: Record<string, number> = {};
    symbols.forEach((s, k) => (scope[s] = PROBES[(p + k) % PROBES.length]! + 0.37 * k));
    const va = evalNumber(pa.node, scope);
    const vb = evalNumber(pb.node, scope);
    if (va === null || vb === null) continue;
    if (!close(va, vb, relTol)) return false;
    agreed++;
  }
  return agreed >= 3;
}

/** Whether a predicted answer equals the reference: exact after normalisation, numeric, or symbolic. */
export function mathEquivalent(predicted: string, reference: string, opts: EquivalenceOptions = {}): Equivalence {
  const relTol = opts.relTol ?? 1e-6;
  const a = normalizeMathAnswer(predicted);
  const b = normalizeMathAnswer(reference);
  if (a === '' || b === '') return { equal: false, method: null };
  if (a === b) return { equal: true, method: 'exact' };
  const na = parseNumeric(a);
  const nb = parseNumeric(b);
  if (na !== null && nb !== null) return close(na, nb, relTol) ? { equal: true, method: 'numeric' } : { equal: false, method: null };
  if (symbolicEqual(a, b, relTol, opts.maxSymbolicLength ?? 200)) return { equal: true, method: 'symbolic' };
  return { equal: false, method: null };
}
