/**
 * Normalisation of final answers written in LaTeX, so that equal answers compare equal as strings: `\dfrac{1}{2}` ≡
 * `\frac12` ≡ `\frac{1}{2}`, `025` ≡ `25`, `90^\circ` ≡ `90`, `\text{(B)}` ≡ `(B)`, `1,234.00` ≡ `1234`, `x = 5` ≡ `5`.
 * In the spirit of the MATH / Minerva / Qwen2.5-Math normalisers; deliberately conservative.
 */

/** Replaces `\cmd{arg}` (balanced braces) using `f(arg)`. Leaves malformed commands in place. */
export function replaceCommand(s: string, command: string, f: (arg: string) => string): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const at = s.indexOf(command, i);
    if (at < 0) break;
    const after = at + command.length;
    if (/[A-Za-z]/.test(s[after] ?? '')) {
      out += s.slice(i, after);
      i = after;
      continue;
    }
    let j = after;
    while (s[j] === ' ') j++;
    if (s[j] !== '{') {
      out += s.slice(i, after);
      i = after;
      continue;
    }
    const close = matchingBrace(s, j);
    if (close < 0) {
      out += s.slice(i, after);
      i = after;
      continue;
    }
    out += s.slice(i, at) + f(s.slice(j + 1, close));
    i = close + 1;
  }
  return out + s.slice(i);
}

/** Index of the `}` closing the `{` at `open`, or -1. */
export function matchingBrace(s: string, open: number): number {
  let depth = 0;
  for (let k = open; k < s.length; k++) {
    const c = s[k];
    if (c === '\\') {
      k++;
      continue;
    }
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return k;
  }
  return -1;
}

/** `\frac12` → `\frac{1}{2}`, `\frac1{2}` → `\frac{1}{2}`, `\frac{1}2` → `\frac{1}{2}`. */
function fixFracs(s: string): string {
  return s
    .replace(/\\frac\s*(\d)\s*(\d)/g, '\\frac{$1}{$2}')
    .replace(/\\frac\s*(\d)\s*\{/g, '\\frac{$1}{')
    .replace(/\\frac\s*(\{[^{}]*\})\s*(\d)/g, '\\frac$1{$2}');
}

/** `\sqrt2` → `\sqrt{2}`. */
function fixSqrt(s: string): string {
  return s.replace(/\\sqrt\s*(\d|[a-zA-Z])(?![a-zA-Z])/g, '\\sqrt{$1}');
}

const TEXT_COMMANDS = ['\\text', '\\textbf', '\\textit', '\\textrm', '\\mathrm', '\\mathbf', '\\mbox', '\\operatorname'];

/** Removes unit words after a number (`5\text{ cm}`, `5 \mbox{dollars}`), unwraps other text commands. */
function handleText(s: string): string {
  for (const cmd of TEXT_COMMANDS) {
    let out = '';
    let rest = s;
    // Process left to right so "what precedes" is known.
    for (;;) {
      const at = findCommand(rest, cmd);
      if (at < 0) break;
      let j = at + cmd.length;
      while (rest[j] === ' ') j++;
      const close = rest[j] === '{' ? matchingBrace(rest, j) : -1;
      if (close < 0) {
        out += rest.slice(0, at + cmd.length);
        rest = rest.slice(at + cmd.length);
        continue;
      }
      const arg = rest.slice(j + 1, close);
      const before = (out + rest.slice(0, at)).trimEnd();
      const isUnit = /^\s*[A-Za-z][A-Za-z .]*$/.test(arg) && /[\d})]$/.test(before);
      out += rest.slice(0, at) + (isUnit ? '' : arg);
      rest = rest.slice(close + 1);
    }
    s = out + rest;
  }
  return s;
}

function findCommand(s: string, cmd: string): number {
  let from = 0;
  for (;;) {
    const at = s.indexOf(cmd, from);
    if (at < 0) return -1;
    if (!/[A-Za-z]/.test(s[at + cmd.length] ?? '')) return at;
    from = at + cmd.length;
  }
}

/** Strips surrounding math delimiters: `$…$`, `$$…$$`, `\(…\)`, `\[…\]`. */
function stripDelimiters(s: string): string {
  let t = s.trim();
  for (;;) {
    const before = t;
    if (t.startsWith('\\(') && t.endsWith('\\)')) t = t.slice(2, -2).trim();
    if (t.startsWith('\\[') && t.endsWith('\\]')) t = t.slice(2, -2).trim();
    if (t === before) break;
  }
  return t.replace(/\\\$/g, '').replace(/\$/g, '');
}

/** Normalises a final answer for string comparison. */
export function normalizeMathAnswer(answer: string): string {
  let s = stripDelimiters(answer);
  s = s.replace(/\\displaystyle/g, '').replace(/\\(?:mathit|boldsymbol)(?![A-Za-z])/g, '');
  s = handleText(s);
  s = s
    .replace(/\^\s*\{\s*\\circ\s*\}/g, '')
    .replace(/\^\s*\\circ/g, '')
    .replace(/\\circ/g, '')
    .replace(/°/g, '')
    .replace(/\\%/g, '')
    .replace(/%/g, '')
    .replace(/\\left(?![A-Za-z])/g, '')
    .replace(/\\right(?![A-Za-z])/g, '')
    .replace(/\\(?:!|,|;|:|\s)/g, '')
    .replace(/\\q?quad(?![A-Za-z])/g, '')
    .replace(/~/g, '')
    .replace(/\\[dtc]frac(?![A-Za-z])/g, '\\frac')
    .replace(/\{,\}/g, ',');
  s = fixSqrt(fixFracs(s));
  s = s.replace(/\s+/g, '');
  // `x=5`, `n=25`, `a_1=3`: keep the right-hand side of a single equation whose left side is one variable.
  const eq = /^([A-Za-z](?:_\{?\w+\}?)?)=(.+)$/.exec(s);
  if (eq !== null && !eq[2]!.includes('=')) s = eq[2]!;
  s = s.replace(/\.+$/, '');
  // Outer braces around the whole answer: `{5}` → `5`.
  while (s.startsWith('{') && matchingBrace(s, 0) === s.length - 1) s = s.slice(1, -1);
  // Numbers: thousands separators, leading zeros, `.5`, trailing zeros of decimals.
  if (/^-?\d{1,3}(,\d{3})+(\.\d+)?$/.test(s)) s = s.replace(/,/g, '');
  if (/^[-+]?(\d+\.?\d*|\.\d+)$/.test(s)) {
    s = s.replace(/^\+/, '');
    s = s.replace(/^(-?)\./, '$10.');
    s = s.replace(/^(-?)0+(?=\d)/, '$1');
    if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
    if (s === '-0') s = '0';
  }
  return s;
}
