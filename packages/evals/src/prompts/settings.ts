/**
 * Thinking modes, sampling presets and output-length defaults, as Qwen's model cards recommend them.
 *
 * Sources (Hugging Face model cards, "Best Practices"):
 * - Qwen3-4B (hybrid): thinking (`enable_thinking=True`) Temperature=0.6, TopP=0.95, TopK=20, MinP=0 ("DO NOT use
 *   greedy decoding"); non-thinking Temperature=0.7, TopP=0.8, TopK=20, MinP=0; `presence_penalty` 0–2 optional.
 *   Output length 32,768 for most queries, 38,912 "for benchmarking on highly complex problems, such as those found
 *   in math and programming competitions".
 * - Qwen3-4B-Thinking-2507: the same thinking preset; 32,768 for most queries, 81,920 for competition problems.
 * - Qwen3-4B-Instruct-2507: the same non-thinking preset; 16,384 "for most queries".
 *
 * The defaults here follow the hybrid card (38,912 for AIME / LiveCodeBench in thinking mode) because Qwen3-4B's
 * native context is 40,960 positions; pass `maxNewTokens` to use the Thinking-2507 card's 81,920.
 */
import type { SamplingParams } from '@quantbench/core';
import type { TaskName } from '../types.js';

/** `on`: the chat template's `enable_thinking=true`; `off`: `enable_thinking=false`. */
export type ThinkingMode = 'on' | 'off';

export const THINKING_MODES: readonly ThinkingMode[] = ['on', 'off'];

/** Qwen3 thinking-mode preset: T=0.6, top-p 0.95, top-k 20, min-p 0. */
export const THINKING_SAMPLING: SamplingParams = Object.freeze({
  temperature: 0.6,
  topP: 0.95,
  topK: 20,
  minP: 0,
  presencePenalty: 0,
});

/** Qwen3 non-thinking-mode preset: T=0.7, top-p 0.8, top-k 20, min-p 0. */
export const NON_THINKING_SAMPLING: SamplingParams = Object.freeze({
  temperature: 0.7,
  topP: 0.8,
  topK: 20,
  minP: 0,
  presencePenalty: 0,
});

export function samplingPreset(thinking: ThinkingMode): SamplingParams {
  return thinking === 'on' ? THINKING_SAMPLING : NON_THINKING_SAMPLING;
}

/** The output lengths the model cards state, for reference and overrides. */
export const QWEN_CARD_OUTPUT_LENGTHS = Object.freeze({
  /** Qwen3 (hybrid) and Thinking-2507: "most queries". */
  thinkingGeneral: 32768,
  /** Qwen3 (hybrid) card: math and programming competitions. */
  thinkingCompetitionHybrid: 38912,
  /** Qwen3-*-Thinking-2507 cards: math and programming competitions. */
  thinkingCompetition2507: 81920,
  /** Qwen3-*-Instruct-2507 cards: "most queries". */
  nonThinking: 16384,
});

/** Tasks that the cards count as "math and programming competitions". */
export const COMPETITION_TASKS: readonly TaskName[] = ['aime24', 'aime25', 'livecodebench'];

/**
 * Default max new tokens: thinking 32,768 (38,912 for AIME and LiveCodeBench), non-thinking 16,384.
 */
export function defaultMaxNewTokens(task: TaskName, thinking: ThinkingMode): number {
  if (thinking === 'off') return QWEN_CARD_OUTPUT_LENGTHS.nonThinking;
  return COMPETITION_TASKS.includes(task)
    ? QWEN_CARD_OUTPUT_LENGTHS.thinkingCompetitionHybrid
    : QWEN_CARD_OUTPUT_LENGTHS.thinkingGeneral;
}
