/**
 * The answer part of a completion. Answers are only ever read from after the last `</think>`; a completion that
 * never closed its reasoning in thinking mode, or that hit the token cap, is `truncated` and has no answer (numbers
 * inside the reasoning are never scored).
 *
 * - Thinking-2507: the prompt opens `<think>`, so completions hold only the closing tag.
 * - hybrid, thinking on: completions hold `<think>…</think>` then the answer.
 * - hybrid thinking off / Instruct-2507: no tags (the hybrid template puts an empty think block in the prompt). A
 *   completion that opens `<think>` anyway and never closes it is truncated too.
 */
import type { FinishReason } from '@quantbench/core';
import { splitReasoning } from '@quantbench/model';
import type { ThinkingMode } from '../prompts/settings.js';

export const THINK_CLOSE = '</think>';

export interface AnswerSection {
  /** Text after the last `</think>` (leading newlines dropped), or the whole completion without tags; null if truncated. */
  readonly answer: string | null;
  readonly reasoning: string | null;
  /** Hit the token cap, or thinking never closed. */
  readonly truncated: boolean;
  readonly truncation: 'length' | 'unclosed-thinking' | null;
}

export function answerSection(completion: string, thinking: ThinkingMode, finishReason: FinishReason): AnswerSection {
  // In thinking mode a `</think>` is required whatever the variant (hybrid opens <think> itself, 2507 in the prompt).
  const split = splitReasoning(completion, { promptOpensThink: thinking === 'on' });
  const close = completion.lastIndexOf(THINK_CLOSE);
  const answer = close >= 0 ? completion.slice(close + THINK_CLOSE.length).replace(/^\n+/, '') : split.answer;
  if (finishReason === 'length') {
    return { answer: null, reasoning: split.reasoning, truncated: true, truncation: 'length' };
  }
  if (split.reasoningTruncated) {
    return { answer: null, reasoning: split.reasoning, truncated: true, truncation: 'unclosed-thinking' };
  }
  return { answer, reasoning: split.reasoning, truncated: false, truncation: null };
}
