/**
 * GSM8K: lm-evaluation-harness's two filters exactly (lm_eval/tasks/gsm8k/gsm8k.yaml, metadata version 3.0):
 *
 *     strict-match:     regex "#### (\-?[0-9\.\,]+)",                group_select 0 (first match), take_first
 *     flexible-extract: regex "(-?[$0-9.,]{2,})|(-?[0-9]+)",         group_select -1 (last match), take_first
 *
 * with RegexFilter's semantics (Python `re.findall`; a tuple match keeps its first non-empty group; `.strip()`;
 * fallback "[invalid]") and the task's exact_match metric (ignore_case, regexes_to_ignore ",", "\$", "(?s).*#### ",
 * "\.$", applied to prediction and reference alike); plus the last `\boxed{}`, which Qwen's math instruction asks for.
 *
 * The primary answer is the boxed one, else strict-match, else "the answer is X", else flexible-extract, compared
 * with the reference as numbers after normalising commas, `$`, units and trailing words, trailing periods and `.00`.
 */
import { lastBoxed } from './boxed.js';
import { normalizeMathAnswer } from './normalize.js';

export const LM_EVAL_FALLBACK = '[invalid]';
export const GSM8K_STRICT_PATTERN = '#### (\\-?[0-9\\.\\,]+)';
export const GSM8K_FLEXIBLE_PATTERN = '(-?[$0-9.,]{2,})|(-?[0-9]+)';

/** Python `re.findall(pattern, text)[groupSelect]` as lm-eval's RegexFilter uses it, or the fallback. */
export function lmEvalRegexFilter(pattern: string, text: string, groupSelect: number): string {
  const re = new RegExp(pattern, 'g');
  const matches: string[] = [];
  for (const m of text.matchAll(re)) {
    // findall: the whole match without groups, the group with one, the tuple with several (first non-empty kept).
    const groups = m.slice(1);
    matches.push(groups.length === 0 ? m[0] : (groups.find((g) => g !== undefined && g !== '') ?? ''));
  }
  if (matches.length === 0) return LM_EVAL_FALLBACK;
  const i = groupSelect < 0 ? matches.length + groupSelect : groupSelect;
  const picked = matches[i];
  return picked === undefined ? LM_EVAL_FALLBACK : picked.trim();
}

/** The gsm8k task's exact_match preprocessing: drop ",", "$", everything up to the last "#### ", a final ".". */
export function lmEvalGsm8kNormalize(s: string): string {
  return s
    .replace(/,/g, '')
    .replace(/\$/g, '')
    .replace(/^[\s\S]*#### /, '')
    .replace(/\.(?=\n?$)/, '')
    .toLowerCase();
}

export function lmEvalGsm8kExactMatch(prediction: string, reference: string): boolean {
  return lmEvalGsm8kNormalize(prediction) === lmEvalGsm8kNormalize(reference);
}

export function gsm8kStrictMatch(text: string): string {
  return lmEvalRegexFilter(GSM8K_STRICT_PATTERN, text, 0);
}

export function gsm8kFlexibleExtract(text: string): string {
  return lmEvalRegexFilter(GSM8K_FLEXIBLE_PATTERN, text, -1);
}

/**
 * The number an extracted GSM8K answer states: `$1,234.00` → 1234, `18 dollars` → 18, `5.` → 5, `\frac{7}{2}` → 3.5.
 * Null when there is none.
 */
export function gsm8kNumber(answer: string): number | null {
  const n = normalizeMathAnswer(answer.replace(/\\\$/g, ''));
  if (/^-?\d+(\.\d+)?$/.test(n)) return Number(n);
  const frac = /^(-?)\\frac\{(\d+)\}\{(\d+)\}$/.exec(n);
  if (frac !== null && Number(frac[3]) !== 0) return (frac[1] === '-' ? -1 : 1) * (Number(frac[2]) / Number(frac[3]));
  // Units and trailing words: the first number in the answer.
  const m = /-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?/.exec(answer.replace(/\\\$|\$/g, ''));
  if (m === null) return null;
  const v = Number(m[0].replace(/,/g, ''));
  return Number.isFinite(v) ? v : null;
}

export function gsm8kNumbersEqual(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
}

const ANSWER_PHRASE = /(?:final answer|the answer)\s*(?:is|:|=)\s*:?\s*\**\s*\$?\\?\$?\s*(-?[0-9][0-9,]*(?:\.[0-9]+)?)/gi;

export interface Gsm8kExtraction {
  /** The extracted string (lm-eval's fallback "[invalid]" for the two lm-eval filters when nothing matched). */
  readonly extracted: string | null;
  readonly correct: boolean;
}

export interface Gsm8kExtractions {
  /** lm-eval strict-match, scored with lm-eval's exact_match. */
  readonly strictMatch: Gsm8kExtraction;
  /** lm-eval flexible-extract, scored with lm-eval's exact_match. */
  readonly flexibleExtract: Gsm8kExtraction;
  /** The last `\boxed{}`, scored numerically. */
  readonly boxed: Gsm8kExtraction;
  /** The primary answer: boxed, else strict, else "the answer is X", else flexible; scored numerically. */
  readonly primary: Gsm8kExtraction & { readonly method: 'boxed' | 'strict' | 'phrase' | 'flexible' | null };
}

export function scoreGsm8kAnswer(answerText: string, reference: string): Gsm8kExtractions {
  const refNumber = gsm8kNumber(reference.replace(/^[\s\S]*####\s*/, ''));
  const numericCorrect = (s: string | null): boolean => {
    if (s === null || refNumber === null) return false;
    const v = gsm8kNumber(s);
    return v !== null && gsm8kNumbersEqual(v, refNumber);
  };
  const strict = gsm8kStrictMatch(answerText);
  const flexible = gsm8kFlexibleExtract(answerText);
  const boxed = lastBoxed(answerText);
  const phrase = [...answerText.matchAll(ANSWER_PHRASE)].at(-1)?.[1] ?? null;

  let primary: { extracted: string | null; method: Gsm8kExtractions['primary']['method'] } = { extracted: null, method: null };
  if (boxed !== null && gsm8kNumber(boxed) !== null) primary = { extracted: boxed, method: 'boxed' };
  else if (strict !== LM_EVAL_FALLBACK) primary = { extracted: strict, method: 'strict' };
  else if (phrase !== null) primary = { extracted: phrase, method: 'phrase' };
  else if (flexible !== LM_EVAL_FALLBACK && gsm8kNumber(flexible) !== null) primary = { extracted: flexible, method: 'flexible' };

  return {
    strictMatch: { extracted: strict, correct: lmEvalGsm8kExactMatch(strict, reference) },
    flexibleExtract: { extracted: flexible, correct: lmEvalGsm8kExactMatch(flexible, reference) },
    boxed: { extracted: boxed, correct: numericCorrect(boxed) },
    primary: { ...primary, correct: numericCorrect(primary.extracted) },
  };
}
