/**
 * Final answers of math problems (AIME and other `\boxed{}` tasks): the last `\boxed{…}` / `\fbox{…}`, else the last
 * "final answer: X" / "the answer is X".
 */
import { lastBoxed } from './boxed.js';

export interface MathExtraction {
  readonly answer: string;
  readonly method: 'boxed' | 'phrase';
}

const PHRASE = /(?:final answer|the answer)(?:\s+is)?\s*[:=]?\s*(.+)/gi;

function cleanPhrase(s: string): string {
  let t = s.trim();
  t = t.replace(/^\*+|\*+$/g, '').trim();
  // `$25$.`, `25.`, `**25**`
  t = t.replace(/[.\s]+$/, '');
  if (/^\$[^$]+\$$/.test(t)) t = t.slice(1, -1);
  else if (/^\\\(.*\\\)$/.test(t)) t = t.slice(2, -2);
  else if (/^\\\[.*\\\]$/.test(t)) t = t.slice(2, -2);
  return t.replace(/^\*+|\*+$/g, '').trim();
}

export function extractMathAnswer(answerText: string): MathExtraction | null {
  const boxed = lastBoxed(answerText);
  if (boxed !== null && boxed.trim() !== '') return { answer: boxed.trim(), method: 'boxed' };
  const last = [...answerText.matchAll(PHRASE)].at(-1);
  if (last !== undefined) {
    const t = cleanPhrase(last[1]!);
    if (t !== '') return { answer: t, method: 'phrase' };
  }
  return null;
}

/** AIME answers are integers 0–999; the integer an extracted answer states, or null. */
export function aimeInteger(normalized: string): number | null {
  if (!/^-?\d+$/.test(normalized)) return null;
  const v = Number(normalized);
  return v >= 0 && v <= 999 ? v : null;
}
