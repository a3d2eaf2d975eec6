/**
 * The task kit the runner uses by default: this package's datasets (`loadTask`), prompts (`buildPrompt`), scorer
 * (`scoreCompletion`) and, for LiveCodeBench, the Python sandbox (public then private tests; correct when all pass).
 */
import { loadTask, type LoadTaskOptions } from '../datasets/index.js';
import { buildPrompt } from '../prompts/index.js';
import { runCodeProblem } from '../sandbox/index.js';
import { scoreCompletion, type Score } from '../scoring/index.js';
import type { CodeProblem } from '../types.js';
import type { ScoreOutput, TaskKit } from './kit.js';
import type { TestStatus } from './records.js';

/** Runs a program against a code problem's tests: each test's status, and whether all passed. */
export type CodeRunner = (program: string, problem: CodeProblem) => Promise<{ readonly tests: readonly TestStatus[]; readonly allPassed: boolean; readonly details?: Record<string, unknown> }>;

export interface DefaultKitOptions {
  /** Extra dataset options (datasets dir, LiveCodeBench release or window, warnings). */
  readonly dataset?: Omit<LoadTaskOptions, 'fixtures' | 'limit'>;
  /** How code runs; default the package's sandbox. */
  readonly runCode?: CodeRunner;
}

function details(score: Score): Record<string, unknown> {
  // Everything the scorer said except what the record already has in its own fields.
  const { problemId: _p, promptHash: _h, ...rest } = score;
  return JSON.parse(JSON.stringify(rest)) as Record<string, unknown>;
}

export function defaultTaskKit(options: DefaultKitOptions = {}): TaskKit {
  return {
    async loadTask(task, { fixtures, limit }) {
      const loaded = await loadTask(task, { ...options.dataset, fixtures, ...(limit !== undefined ? { limit } : {}) });
      const s = loaded.source;
      const where = s.revision ? `${s.repo}@${s.revision.slice(0, 12)}` : s.repo;
      return {
        problems: loaded.problems,
        source: `${s.title} (${where}${s.config ? ` ${s.config}` : ''} ${s.split}${s.release ? ` ${s.release}` : ''}, ${loaded.problems.length} of ${loaded.totalRows} problems${s.pinned ? ', pinned' : ', NOT pinned'})`,
        sourceDetails: s,
      };
    },
    prompt(task, problem, { thinking, maxNewTokens }) {
      return buildPrompt(task, problem, { thinking, ...(maxNewTokens !== undefined ? { maxNewTokens } : {}) });
    },
    async score({ problem, prompt, result }): Promise<ScoreOutput> {
      const score = scoreCompletion(problem, prompt, result.text, result.finishReason);
      switch (score.kind) {
        case 'math':
          return { extracted: score.extracted === null ? [] : [score.extracted], correct: score.correct, truncated: score.truncated, details: details(score) };
        case 'choice':
          return { extracted: score.letter === null ? [] : [score.letter], correct: score.correct, truncated: score.truncated, details: details(score) };
        case 'code': {
          if (score.program === null || problem.kind !== 'code') {
            return { extracted: [], correct: false, truncated: score.truncated, tests: [], details: details(score) };
          }
          const runCode = options.runCode ?? sandboxRunner;
          const run = await runCode(score.program, problem);
          return {
            extracted: [score.program],
            correct: run.allPassed,
            truncated: score.truncated,
            tests: [...run.tests],
            details: { ...details(score), ...(run.details ? { sandbox: run.details } : {}) },
          };
        }
      }
    },
  };
}

/** The package's sandbox: public tests, then private ones. */
export const sandboxRunner: CodeRunner = async (program, problem) => {
  const run = await runCodeProblem(problem, program);
  const total = problem.publicTests.length + problem.privateTests.length;
  return {
    tests: run.results.map((r) => ({ set: r.set, index: r.setIndex, status: r.status, ...(r.message ? { message: r.message.slice(0, 500) } : {}), durationMs: Math.round(r.durationMs) })),
    allPassed: run.passed && run.results.length === total,
    // LCB's rule: stop at the first failure, so later tests were not run.
    details: { testsTotal: total, testsRun: run.results.length, durationMs: Math.round(run.durationMs) },
  };
};
