/**
 * What the runner needs from the task side, in one interface: problems, prompts and scoring. `defaultTaskKit`
 * (tasks.ts) wires it to this package's datasets, prompts, scorers and sandbox; tests may pass their own.
 */
import type { GenerateResult } from '@quantbench/core';
import type { PromptRecord, ThinkingMode } from '../prompts/index.js';
import type { Problem, TaskName } from '../types.js';
import type { TestStatus } from './records.js';

export interface KitTask {
  readonly problems: readonly Problem[];
  /** Where the problems came from, in words (fixture file, dataset id and revision). */
  readonly source: string;
  /** The full provenance (files, sha256, revision) for env.json. */
  readonly sourceDetails?: unknown;
}

export interface ScoreInput {
  readonly task: TaskName;
  readonly problem: Problem;
  readonly prompt: PromptRecord;
  readonly thinking: ThinkingMode;
  readonly result: GenerateResult;
}

export interface ScoreOutput {
  /** The extracted answer(s): math the final answer, choice the letter, code the program. Empty when none. */
  readonly extracted: readonly string[];
  readonly correct: boolean;
  /** Stopped at the token limit or the answer was cut off (never closed its reasoning). */
  readonly truncated: boolean;
  /** Code: each test's status. */
  readonly tests?: readonly TestStatus[];
  /** Further scorer details worth keeping with the sample (JSON). */
  readonly details?: Record<string, unknown>;
}

export interface TaskKit {
  loadTask(task: TaskName, options: { fixtures: boolean; limit?: number }): Promise<KitTask>;
  prompt(task: TaskName, problem: Problem, options: { thinking: ThinkingMode; maxNewTokens?: number }): PromptRecord;
  score(input: ScoreInput): Promise<ScoreOutput>;
}
