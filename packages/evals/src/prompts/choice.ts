/**
 * Four-way multiple choice (GPQA-Diamond). The options are shuffled with a seed derived from the question text, so a
 * rerun or a re-scoring sees the same order:
 *
 *     seed = first 4 bytes of sha256(salt + question), big-endian, as an unsigned 32-bit integer
 *     rng  = core's xoshiro128** seeded with `seed`
 *     Fisher–Yates over [correct, incorrect0, incorrect1, incorrect2]: for i = 3..1, j = floor(rng.nextFloat()·(i+1))
 *
 * `permutation[k]` is the index (0 = correct, 1..3 = incorrect[0..2]) of the option shown as letter k.
 *
 * The instruction is Qwen's (Qwen3 model cards, "Standardize Output Format": 'Multiple-Choice Questions: Add the
 * following JSON structure to the prompt to standardize responses: "Please show your choice in the `answer` field
 * with only the choice letter, e.g., `"answer": "C"`."'). The choice layout (`A) …` lines after the question) is
 * that of OpenAI simple-evals' GPQA template.
 */
import { createRng } from '@quantbench/core';
import type { ChatMessage } from '@quantbench/core';
import type { ChoiceProblem } from '../types.js';
import { sha256Hex } from './hash.js';

export const CHOICE_LETTERS = ['A', 'B', 'C', 'D'] as const;
export type ChoiceLetter = (typeof CHOICE_LETTERS)[number];

export const CHOICE_INSTRUCTION =
  'Please show your choice in the `answer` field with only the choice letter, e.g., `"answer": "C"`.';

export interface ChoiceShuffle {
  /** The 32-bit seed the shuffle used. */
  readonly seed: number;
  /** `permutation[k]`: index into [correct, ...incorrect] of the option shown at letter k. */
  readonly permutation: readonly number[];
  /** The option texts in shown order (trimmed). */
  readonly choices: readonly string[];
  /** The letter under which the correct option is shown. */
  readonly correctLetter: ChoiceLetter;
}

/** The 32-bit seed of a question: the first four bytes of sha256(salt + question), big-endian. */
export function choiceSeed(question: string, salt = ''): number {
  return Number.parseInt(sha256Hex(salt + question).slice(0, 8), 16);
}

/** A Fisher–Yates permutation of 0..n-1 drawn from core's xoshiro128** seeded with `seed`. */
export function seededPermutation(n: number, seed: number): number[] {
  const rng = createRng(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.nextFloat() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

export function shuffleChoices(problem: ChoiceProblem, salt = ''): ChoiceShuffle {
  const options = [problem.correct, ...problem.incorrect].map((s) => s.trim());
  const seed = choiceSeed(problem.question, salt);
  const permutation = seededPermutation(options.length, seed);
  const correctAt = permutation.indexOf(0);
  return {
    seed,
    permutation,
    choices: permutation.map((i) => options[i]!),
    correctLetter: CHOICE_LETTERS[correctAt]!,
  };
}

export function choiceUserMessage(question: string, choices: readonly string[]): string {
  const lines = choices.map((c, k) => `${CHOICE_LETTERS[k]!}) ${c}`);
  return `${question.trim()}\n\n${lines.join('\n')}\n\n${CHOICE_INSTRUCTION}`;
}

export function choiceMessages(problem: ChoiceProblem, shuffle: ChoiceShuffle): ChatMessage[] {
  return [{ role: 'user', content: choiceUserMessage(problem.question, shuffle.choices) }];
}

/** The index into [correct, ...incorrect] of the option a letter names under `shuffle` (0 means correct). */
export function originalIndexOf(letter: ChoiceLetter, shuffle: Pick<ChoiceShuffle, 'permutation'>): number {
  const i = shuffle.permutation[CHOICE_LETTERS.indexOf(letter)];
  if (i === undefined) throw new Error(`letter ${letter} is outside the permutation`);
  return i;
}
