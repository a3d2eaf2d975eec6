/**
 * One entry point: scores a completion against its problem and the prompt record it was generated from.
 * Math and choice are judged here; code returns the extracted program for the runner to execute in the sandbox.
 */
import type { FinishReason } from '@quantbench/core';
import type { ChoiceLetter } from '../prompts/choice.js';
import { CHOICE_LETTERS } from '../prompts/choice.js';
import type { PromptRecord } from '../prompts/build.js';
import type { Problem } from '../types.js';
import { extractChoiceLetter, type ChoiceMethod } from './choice.js';
import { extractCode, type CodeExtraction } from './code.js';
import { mathEquivalent, type EquivalenceMethod, type EquivalenceOptions } from './equivalence.js';
import { scoreGsm8kAnswer, type Gsm8kExtractions } from './gsm8k.js';
import { extractMathAnswer } from './math.js';
import { normalizeMathAnswer } from './normalize.js';
import { answerSection, type AnswerSection } from './reasoning.js';

interface ScoreBase {
  readonly problemId: string;
  readonly promptHash: string;
  /** Hit the token cap, or the reasoning never closed: scored with no answer. */
  readonly truncated: boolean;
  readonly truncation: AnswerSection['truncation'];
  /** No answer could be extracted (always true when truncated). */
  readonly noAnswer: boolean;
}

export interface MathScore extends ScoreBase {
  readonly kind: 'math';
  readonly extracted: string | null;
  readonly normalized: string | null;
  readonly extractionMethod: string | null;
  readonly correct: boolean;
  readonly equivalence: EquivalenceMethod | null;
  /** GSM8K only: lm-eval's strict-match and flexible-extract, the boxed answer, and the primary one. */
  readonly gsm8k?: Gsm8kExtractions;
}

export interface ChoiceScore extends ScoreBase {
  readonly kind: 'choice';
  readonly letter: ChoiceLetter | null;
  readonly extractionMethod: ChoiceMethod | null;
  readonly correctLetter: ChoiceLetter;
  /** The chosen option's index in [correct, ...incorrect] (0 = correct), through the recorded permutation. */
  readonly chosenOriginalIndex: number | null;
  readonly correct: boolean;
}

export interface CodeScore extends ScoreBase {
  readonly kind: 'code';
  /** The program to run, or null. Correctness comes from the sandbox. */
  readonly program: string | null;
  readonly extraction: CodeExtraction | null;
}

export type Score = MathScore | ChoiceScore | CodeScore;

export type ScoreOptions = EquivalenceOptions;

export function scoreCompletion(
  problem: Problem,
  record: PromptRecord,
  completion: string,
  finishReason: FinishReason,
  opts: ScoreOptions = {},
): Score {
  if (record.problemId !== problem.id || record.kind !== problem.kind) {
    throw new Error(`prompt record ${record.problemId} (${record.kind}) does not belong to problem ${problem.id} (${problem.kind})`);
  }
  const section = answerSection(completion, record.thinking, finishReason);
  const base = {
    problemId: problem.id,
    promptHash: record.promptHash,
    truncated: section.truncated,
    truncation: section.truncation,
  };
  const text = section.answer;

  switch (problem.kind) {
    case 'math': {
      if (text === null) {
        return { kind: 'math', ...base, noAnswer: true, extracted: null, normalized: null, extractionMethod: null, correct: false, equivalence: null };
      }
      if (record.task === 'gsm8k') {
        const g = scoreGsm8kAnswer(text, problem.answer);
        const extracted = g.primary.extracted;
        return {
          kind: 'math',
          ...base,
          noAnswer: extracted === null,
          extracted,
          normalized: extracted === null ? null : normalizeMathAnswer(extracted),
          extractionMethod: g.primary.method,
          correct: g.primary.correct,
          equivalence: g.primary.correct ? 'numeric' : null,
          gsm8k: g,
        };
      }
      const ex = extractMathAnswer(text);
      if (ex === null) {
        return { kind: 'math', ...base, noAnswer: true, extracted: null, normalized: null, extractionMethod: null, correct: false, equivalence: null };
      }
      const eq = mathEquivalent(ex.answer, problem.answer, opts);
      return {
        kind: 'math',
        ...base,
        noAnswer: false,
        extracted: ex.answer,
        normalized: normalizeMathAnswer(ex.answer),
        extractionMethod: ex.method,
        correct: eq.equal,
        equivalence: eq.method,
      };
    }
    case 'choice': {
      if (record.kind !== 'choice') throw new Error('unreachable');
      const { correctLetter, permutation } = record.choice;
      const ex = text === null ? null : extractChoiceLetter(text);
      const chosenOriginalIndex = ex === null ? null : (permutation[CHOICE_LETTERS.indexOf(ex.letter)] ?? null);
      return {
        kind: 'choice',
        ...base,
        noAnswer: ex === null,
        letter: ex?.letter ?? null,
        extractionMethod: ex?.method ?? null,
        correctLetter,
        chosenOriginalIndex,
        correct: ex !== null && ex.letter === correctLetter,
      };
    }
    case 'code': {
      const ex = text === null ? null : extractCode(text);
      return { kind: 'code', ...base, noAnswer: ex === null, program: ex?.code ?? null, extraction: ex };
    }
  }
}
