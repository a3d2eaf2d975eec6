/**
 * One prompt per (problem, thinking mode): the chat messages, sampling, max new tokens and a hash of it all, plus
 * what scoring needs later (the choice permutation). Records are plain JSON so the runner can store them beside the
 * completions and re-score without rebuilding.
 *
 * Soft switches (`/think`, `/no_think`) are written into the last user message here (as the tokenizer's
 * `softSwitch` option would: `content + ' /think'`), so they reach every engine, local or remote, and are covered by
 * the hash. Do not also pass `softSwitch: true` to `renderChat`.
 */
import type { ChatMessage, GenerateRequest, SamplingParams } from '@quantbench/core';
import type { CodeProblem, Problem, TaskName } from '../types.js';
import { choiceMessages, shuffleChoices, type ChoiceLetter } from './choice.js';
import { codeMessages, type LcbPromptStyle } from './code.js';
import { canonicalJson, sha256Hex } from './hash.js';
import { mathMessages } from './math.js';
import { defaultMaxNewTokens, samplingPreset, type ThinkingMode } from './settings.js';

/** Bumped whenever a template's wording or layout changes: part of every prompt hash. */
export const PROMPT_VERSION = 1;

export interface PromptOptions {
  readonly thinking: ThinkingMode;
  /** Append ` /think` or ` /no_think` to the last user message (hybrid Qwen3 honours it; 2507 models ignore it). */
  readonly softSwitch?: boolean;
  /** Overrides of the mode's Qwen preset. */
  readonly sampling?: Partial<SamplingParams>;
  /** Overrides `defaultMaxNewTokens(task, thinking)`. */
  readonly maxNewTokens?: number;
  /** LiveCodeBench message layout (default `system`). */
  readonly lcbStyle?: LcbPromptStyle;
  /** Mixed into the choice-shuffle seed (default ''): a different salt is a different, equally reproducible order. */
  readonly shuffleSalt?: string;
}

interface PromptRecordBase {
  readonly promptVersion: number;
  readonly task: TaskName;
  readonly problemId: string;
  readonly thinking: ThinkingMode;
  readonly softSwitch: boolean;
  readonly messages: readonly ChatMessage[];
  readonly sampling: SamplingParams;
  readonly maxNewTokens: number;
  /** sha256 (hex) of the canonical JSON of everything above (and the choice permutation). */
  readonly promptHash: string;
}

export interface MathPromptRecord extends PromptRecordBase {
  readonly kind: 'math';
}

export interface ChoicePromptRecord extends PromptRecordBase {
  readonly kind: 'choice';
  readonly choice: {
    readonly seed: number;
    readonly salt: string;
    readonly permutation: readonly number[];
    readonly correctLetter: ChoiceLetter;
  };
}

export interface CodePromptRecord extends PromptRecordBase {
  readonly kind: 'code';
  readonly code: {
    readonly style: LcbPromptStyle;
    /** `functional` when the problem has starter code (LeetCode-style), else `stdin`. */
    readonly testtype: 'stdin' | 'functional';
    readonly funcName?: string;
  };
}

export type PromptRecord = MathPromptRecord | ChoicePromptRecord | CodePromptRecord;

const TASK_KIND: Readonly<Record<TaskName, Problem['kind']>> = {
  gsm8k: 'math',
  aime24: 'math',
  aime25: 'math',
  'gpqa-diamond': 'choice',
  livecodebench: 'code',
};

function withSoftSwitch(messages: ChatMessage[], thinking: ThinkingMode): ChatMessage[] {
  const last = messages.map((m) => m.role).lastIndexOf('user');
  const target = messages[last];
  if (target === undefined) throw new Error('soft switch needs a user message');
  return messages.with(last, { ...target, content: `${target.content} ${thinking === 'on' ? '/think' : '/no_think'}` });
}

function codeTesttype(problem: CodeProblem): 'stdin' | 'functional' {
  const t = problem.publicTests[0]?.testtype ?? problem.privateTests[0]?.testtype;
  return t ?? (problem.starterCode ? 'functional' : 'stdin');
}

export function buildPrompt(task: TaskName, problem: Problem, opts: PromptOptions): PromptRecord {
  if (TASK_KIND[task] !== problem.kind) {
    throw new Error(`task ${task} expects ${TASK_KIND[task]} problems, got ${problem.kind} (${problem.id})`);
  }
  const softSwitch = opts.softSwitch ?? false;
  const sampling: SamplingParams = { ...samplingPreset(opts.thinking), ...opts.sampling };
  const maxNewTokens = opts.maxNewTokens ?? defaultMaxNewTokens(task, opts.thinking);
  if (!Number.isInteger(maxNewTokens) || maxNewTokens <= 0) {
    throw new RangeError(`maxNewTokens must be a positive integer, got ${maxNewTokens}`);
  }

  let messages: ChatMessage[];
  let extra: Pick<ChoicePromptRecord, 'choice'> | Pick<CodePromptRecord, 'code'> | Record<string, never> = {};
  switch (problem.kind) {
    case 'math':
      messages = mathMessages(problem);
      break;
    case 'choice': {
      const salt = opts.shuffleSalt ?? '';
      const shuffle = shuffleChoices(problem, salt);
      messages = choiceMessages(problem, shuffle);
      extra = {
        choice: { seed: shuffle.seed, salt, permutation: shuffle.permutation, correctLetter: shuffle.correctLetter },
      };
      break;
    }
    case 'code': {
      const style = opts.lcbStyle ?? 'system';
      messages = codeMessages(problem, style);
      extra = {
        code: {
          style,
          testtype: codeTesttype(problem),
          ...(problem.funcName !== undefined ? { funcName: problem.funcName } : {}),
        },
      };
      break;
    }
  }
  if (softSwitch) messages = withSoftSwitch(messages, opts.thinking);

  const body = {
    promptVersion: PROMPT_VERSION,
    task,
    problemId: problem.id,
    kind: problem.kind,
    thinking: opts.thinking,
    softSwitch,
    messages,
    sampling,
    maxNewTokens,
    ...extra,
  };
  return { ...body, promptHash: promptHashOf(body) } as PromptRecord;
}

/** The hash of a record's content (everything but `promptHash`). */
export function promptHashOf(record: Omit<PromptRecord, 'promptHash'> | PromptRecord): string {
  const { promptHash: _ignored, ...rest } = record as PromptRecord;
  return sha256Hex(canonicalJson(rest));
}

/** The engine request of a prompt record (`thinking` becomes the template's `enable_thinking`). */
export function toGenerateRequest(record: PromptRecord, seed: number): GenerateRequest {
  return {
    messages: record.messages,
    thinking: record.thinking === 'on',
    sampling: record.sampling,
    maxNewTokens: record.maxNewTokens,
    seed,
  };
}
