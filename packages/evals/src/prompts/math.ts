/**
 * Math prompts (GSM8K, AIME): the question, then Qwen's recommended instruction (Qwen3 model cards, "Standardize
 * Output Format": 'Math Problems: Include "Please reason step by step, and put your final answer within \boxed{}."
 * in the prompt').
 */
import type { ChatMessage } from '@quantbench/core';
import type { MathProblem } from '../types.js';

export const MATH_INSTRUCTION = 'Please reason step by step, and put your final answer within \\boxed{}.';

export function mathUserMessage(question: string): string {
  return `${question.trim()}\n${MATH_INSTRUCTION}`;
}

export function mathMessages(problem: MathProblem): ChatMessage[] {
  return [{ role: 'user', content: mathUserMessage(problem.question) }];
}
