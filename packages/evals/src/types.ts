/**
 * The problems every task reads into, whatever the source format: math with a reference answer, four-way multiple
 * choice, and code with tests. Ids are stable across runs (they key resumed results and paired statistics).
 */

export type TaskName = 'gsm8k' | 'aime24' | 'aime25' | 'gpqa-diamond' | 'livecodebench';

export interface MathProblem {
  readonly kind: 'math';
  readonly id: string;
  readonly question: string;
  /** The final answer as the source states it (GSM8K: the number after `####`; AIME: an integer 0–999). */
  readonly answer: string;
}

export interface ChoiceProblem {
  readonly kind: 'choice';
  readonly id: string;
  readonly question: string;
  readonly correct: string;
  readonly incorrect: readonly [string, string, string];
}

export interface CodeTest {
  readonly input: string;
  readonly output: string;
  /** `stdin`: the program reads input and prints; `functional`: `Solution().<funcName>(*args)` with JSON lines. */
  readonly testtype: 'stdin' | 'functional';
}

export interface CodeProblem {
  readonly kind: 'code';
  readonly id: string;
  readonly title: string;
  readonly question: string;
  readonly starterCode: string;
  /** For functional (LeetCode-style) problems, the method to call. */
  readonly funcName?: string;
  readonly publicTests: readonly CodeTest[];
  readonly privateTests: readonly CodeTest[];
  readonly platform: string;
  readonly difficulty: string;
  /** ISO date the problem was published (LiveCodeBench windows by date). */
  readonly contestDate: string;
}

export type Problem = MathProblem | ChoiceProblem | CodeProblem;
