/**
 * Splitting a decoded completion into reasoning and answer, the way the Qwen3 chat templates themselves do when they
 * re-render an assistant turn:
 *
 *     reasoning = content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n')   (then .strip('\n'))
 *     answer    = content.split('</think>')[-1].lstrip('\n')
 *
 * (we take the answer after the *first* `</think>`, so a later literal `</think>` in the answer is kept.)
 */

export interface SplitReasoning {
  /** The reasoning text, `null` when the completion has none (instruct models, hybrid with thinking off). */
  readonly reasoning: string | null;
  /** The answer ('' when the reasoning was truncated). Leading newlines removed, as the templates do. */
  readonly answer: string;
  /** True when the completion opened a think block but never closed it (generation hit its token limit). */
  readonly reasoningTruncated: boolean;
}

export interface SplitReasoningOptions {
  /**
   * True when the prompt already opened `<think>` (the Qwen3-*-Thinking-2507 template; see `promptOpensThink`
   * in templates.ts): the completion starts inside the reasoning and only closes it.
   */
  readonly promptOpensThink: boolean;
}

const THINK_OPEN = '<think>';
const THINK_CLOSE = '</think>';

function stripNewlines(s: string): string {
  return s.replace(/^\n+/, '').replace(/\n+$/, '');
}

function lstripNewlines(s: string): string {
  return s.replace(/^\n+/, '');
}

/** Removes the opening tag when the reasoning starts with one (after optional whitespace). */
function dropOpening(reasoning: string): string {
  const i = reasoning.lastIndexOf(THINK_OPEN);
  return i >= 0 ? reasoning.slice(i + THINK_OPEN.length) : reasoning;
}

/**
 * Splits a completion (decoded text, special tokens skipped — `<think>`/`</think>` are not special and remain) into
 * reasoning and answer.
 *
 * - `promptOpensThink` (Thinking-2507): everything before the first `</think>` is reasoning (a stray `<think>` the
 *   model may still emit is dropped); no `</think>` at all means the reasoning was truncated and there is no answer.
 * - otherwise (hybrid, Instruct-2507): a completion that starts with `<think>` carries its reasoning up to the first
 *   `</think>` (truncated if there is none). A completion without `<think>` but with `</think>` is split the same way,
 *   as the templates do. A completion with neither is all answer (`reasoning: null`).
 *
 * Reasoning is stripped of leading/trailing newlines, the answer of leading ones (like the templates' `.strip('\n')`
 * and `.lstrip('\n')`).
 */
export function splitReasoning(completion: string, opts: SplitReasoningOptions): SplitReasoning {
  const close = completion.indexOf(THINK_CLOSE);
  if (close >= 0) {
    return {
      reasoning: stripNewlines(dropOpening(completion.slice(0, close))),
      answer: lstripNewlines(completion.slice(close + THINK_CLOSE.length)),
      reasoningTruncated: false,
    };
  }
  const opened = opts.promptOpensThink || /^\s*<think>/.test(completion);
  if (opened) {
    return { reasoning: stripNewlines(dropOpening(completion)), answer: '', reasoningTruncated: true };
  }
  return { reasoning: null, answer: completion, reasoningTruncated: false };
}
