/**
 * `\boxed{…}` extraction with nested braces; also `\boxed 5` (argument up to whitespace or `$`) and `\fbox{…}`.
 */

const BOX_COMMANDS = ['\\boxed', '\\fbox'] as const;

export interface BoxedMatch {
  readonly content: string;
  /** Index of the backslash of the command. */
  readonly start: number;
  readonly end: number;
}

/** The argument of the box command starting at `i` (the backslash), or null when it is malformed/unclosed. */
function boxArgumentAt(text: string, i: number, command: string): BoxedMatch | null {
  let j = i + command.length;
  // `\boxedx` is some other command; `\boxed{`, `\boxed {`, `\boxed 5` are boxes.
  const next = text[j];
  if (next === undefined || /[A-Za-z]/.test(next)) return null;
  while (j < text.length && (text[j] === ' ' || text[j] === '\t')) j++;
  if (text[j] === '{') {
    let depth = 0;
    for (let k = j; k < text.length; k++) {
      const c = text[k];
      if (c === '\\') {
        k++; // skip an escaped character such as \{ or \}
        continue;
      }
      if (c === '{') depth++;
      else if (c === '}') {
        depth--;
        if (depth === 0) return { content: text.slice(j + 1, k), start: i, end: k + 1 };
      }
    }
    return null;
  }
  if (j === i + command.length) return null; // `\boxed5`: no separator
  const m = /^[^\s$]+/.exec(text.slice(j));
  if (m === null) return null;
  return { content: m[0], start: i, end: j + m[0].length };
}

/** Every well-formed box in order of appearance (nested boxes inside a box are not listed separately). */
export function allBoxed(text: string): BoxedMatch[] {
  const out: BoxedMatch[] = [];
  let i = 0;
  while (i < text.length) {
    let best = -1;
    let cmd = '';
    for (const c of BOX_COMMANDS) {
      const at = text.indexOf(c, i);
      if (at >= 0 && (best < 0 || at < best)) {
        best = at;
        cmd = c;
      }
    }
    if (best < 0) break;
    const m = boxArgumentAt(text, best, cmd);
    if (m !== null) {
      out.push(m);
      i = m.end;
    } else {
      i = best + cmd.length;
    }
  }
  return out;
}

/** The content of the last box, or null. */
export function lastBoxed(text: string): string | null {
  const all = allBoxed(text);
  return all.length > 0 ? all[all.length - 1]!.content : null;
}
