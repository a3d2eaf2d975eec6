/**
 * (Browser-safe: the parts of the template code that do not read the shipped tokenizer files; templates.ts adds
 * `chatTemplateFor`, which does.)
 *
 * The three Qwen3 chat-template variants, derived from the hybrid template shipped with the Qwen3 tokenizer (see
 * shipped.ts) by a few documented, anchored string transformations. Nothing is pasted from elsewhere: every variant
 * is the shipped template with specific, named pieces rewritten, and each rewrite must match exactly once (else
 * `deriveChatTemplate` throws, so a changed upstream template cannot silently produce a wrong variant).
 *
 * What the generation prompt (the text after the conversation when `add_generation_prompt` is true) does:
 *
 * - `'hybrid'` — the original Qwen3 (April 2025) hybrid models, e.g. Qwen3-4B. The prompt is `<|im_start|>assistant\n`.
 *   With `enable_thinking` true (or unset) the model itself starts its reply with `<think>\n…\n</think>\n\n` and then
 *   answers. With `enable_thinking=false` the template appends an *empty* think block `<think>\n\n</think>\n\n`, so the
 *   model sees its reasoning as already finished and answers directly. The hybrid models also honour the soft
 *   switches `/think` and `/no_think` written into a user message.
 *
 * - `'thinking-2507'` — Qwen3-4B-Thinking-2507, a thinking-only model. Its template has no `enable_thinking` switch and
 *   always ends the generation prompt with `<|im_start|>assistant\n<think>\n`: the template opens the think block
 *   itself (forcing the model to reason), so a completion contains only the reasoning, then `</think>`, then the
 *   answer — no opening `<think>` (the model card notes that output containing only `</think>` is expected). A
 *   completion that never reaches `</think>` was cut off mid-reasoning. Soft switches are not honoured.
 *
 * - `'instruct-2507'` — Qwen3-4B-Instruct-2507, a non-thinking-only model. The generation prompt is just
 *   `<|im_start|>assistant\n` with no think block at all (not even the empty one: the model was trained without think
 *   blocks, so none is needed to suppress reasoning); earlier assistant turns are rendered verbatim (no reasoning
 *   extraction). Soft switches are not honoured.
 *
 * All three share the rest: `<|im_start|>{role}\n{content}<|im_end|>\n` framing, the system message first, tools
 * and tool responses, and (hybrid and thinking-2507) dropping the reasoning of assistant turns that come before the
 * last user query while keeping it for the turns after it.
 */
import { Template } from '@huggingface/jinja';

export const TEMPLATE_VARIANTS = ['hybrid', 'thinking-2507', 'instruct-2507'] as const;
export type TemplateVariant = (typeof TEMPLATE_VARIANTS)[number];

/** One rewrite of the shipped template: `pattern` must match exactly once. */
export interface TemplateTransformation {
  readonly name: string;
  readonly description: string;
  readonly pattern: RegExp;
  readonly replacement: string;
}

/**
 * The generation-prompt block of the hybrid template:
 *
 *     {{- '<|im_start|>assistant\n' }}
 *     {%- if enable_thinking is defined and enable_thinking is false %}
 *         {{- '<think>\n\n</think>\n\n' }}
 *     {%- endif %}
 *
 * (`\n` here are the two characters backslash-n of a Jinja string literal; whitespace between tags may vary.)
 */
const HYBRID_GENERATION_PROMPT =
  /\{\{- '<\|im_start\|>assistant\\n' \}\}\s*\{%- if enable_thinking is defined and enable_thinking is false %\}\s*\{\{- '<think>\\n\\n<\/think>\\n\\n' \}\}\s*\{%- endif %\}/g;

/** Thinking-2507: the generation prompt always opens the think block; no `enable_thinking` switch. */
export const OPEN_THINK_IN_GENERATION_PROMPT: TemplateTransformation = {
  name: 'open-think-in-generation-prompt',
  description:
    "replace the hybrid generation prompt (assistant header + empty think block when enable_thinking is false) by the unconditional '<|im_start|>assistant\\n<think>\\n'",
  pattern: HYBRID_GENERATION_PROMPT,
  replacement: "{{- '<|im_start|>assistant\\n<think>\\n' }}",
};

/** Instruct-2507: the generation prompt is the bare assistant header; no `enable_thinking` switch. */
export const PLAIN_GENERATION_PROMPT: TemplateTransformation = {
  name: 'plain-generation-prompt',
  description:
    "replace the hybrid generation prompt by the unconditional '<|im_start|>assistant\\n' (drop the empty think block and the enable_thinking switch)",
  pattern: HYBRID_GENERATION_PROMPT,
  replacement: "{{- '<|im_start|>assistant\\n' }}",
};

/**
 * Instruct-2507: assistant turns are rendered as `<|im_start|>assistant\n` + content, verbatim. Removes, in the
 * assistant branch, everything from `{%- set reasoning_content = '' %}` (the `reasoning_content` / `</think>`
 * extraction) through the `{%- if loop.index0 > ns.last_query_index %} … {%- endif %}` block that re-emits
 * `<think>…</think>` for turns after the last user query, and puts the plain header + content in its place. The
 * tool-call rendering that follows (`{%- if message.tool_calls %}`) is kept. The `ns.last_query_index` computation
 * earlier in the template becomes dead code; it is left in place as it produces no output.
 */
export const VERBATIM_ASSISTANT_TURNS: TemplateTransformation = {
  name: 'verbatim-assistant-turns',
  description:
    "replace the assistant reasoning extraction and <think> re-emission by {{- '<|im_start|>' + message.role + '\\n' + content }}",
  pattern:
    /\{%- set reasoning_content = '' %\}[\s\S]*?\{%- if loop\.index0 > ns\.last_query_index %\}[\s\S]*?\{%- else %\}\s*\{\{- '<\|im_start\|>' \+ message\.role \+ '\\n' \+ content \}\}\s*\{%- endif %\}(?=\s*\{%- if message\.tool_calls %\})/g,
  replacement: "{{- '<|im_start|>' + message.role + '\\n' + content }}",
};

/** The transformations, in order, that turn the shipped hybrid template into each variant. */
export const TEMPLATE_TRANSFORMATIONS: Readonly<Record<TemplateVariant, readonly TemplateTransformation[]>> = {
  hybrid: [],
  'thinking-2507': [OPEN_THINK_IN_GENERATION_PROMPT],
  'instruct-2507': [PLAIN_GENERATION_PROMPT, VERBATIM_ASSISTANT_TURNS],
};

/** Applies one transformation; throws unless its pattern matches exactly once. */
export function applyTemplateTransformation(template: string, t: TemplateTransformation): string {
  const matches = template.match(t.pattern)?.length ?? 0;
  if (matches !== 1) {
    throw new Error(
      `chat template transformation '${t.name}' expected exactly one match of its pattern, found ${matches}: the hybrid Qwen3 template is not the expected one`,
    );
  }
  // A replacer function, so that `$` in the replacement is never interpreted.
  return template.replace(t.pattern, () => t.replacement);
}

/** Derives the template of `variant` from a hybrid Qwen3 template (by default the shipped one). */
export function deriveChatTemplate(hybridTemplate: string, variant: TemplateVariant): string {
  return TEMPLATE_TRANSFORMATIONS[variant].reduce(applyTemplateTransformation, hybridTemplate);
}

/**
 * Classifies a chat template by behaviour rather than by text: renders a one-message conversation with the generation
 * prompt, once with `enable_thinking` true and once false, and looks at what follows the user turn.
 *
 * - the two renderings differ, `false` adds `<think>\n\n</think>\n\n` → `'hybrid'`
 * - both end with `<|im_start|>assistant\n<think>\n` → `'thinking-2507'`
 * - both end with exactly `<|im_start|>assistant\n` → `'instruct-2507'`
 * - anything else (including a template that does not parse or render) → `'unknown'`
 */
export function detectTemplateVariant(template: string): TemplateVariant | 'unknown' {
  let tpl: Template;
  try {
    tpl = new Template(template);
  } catch {
    return 'unknown';
  }
  const userTurn = '<|im_start|>user\nprobe<|im_end|>\n';
  const render = (enableThinking: boolean): string | undefined => {
    try {
      const out = tpl.render({
        messages: [{ role: 'user', content: 'probe' }],
        add_generation_prompt: true,
        enable_thinking: enableThinking,
      });
      return out.startsWith(userTurn) ? out.slice(userTurn.length) : undefined;
    } catch {
      return undefined;
    }
  };
  const on = render(true);
  const off = render(false);
  if (on === undefined || off === undefined) return 'unknown';
  if (on === '<|im_start|>assistant\n' && off === '<|im_start|>assistant\n<think>\n\n</think>\n\n') return 'hybrid';
  if (on === off && on === '<|im_start|>assistant\n<think>\n') return 'thinking-2507';
  if (on === off && on === '<|im_start|>assistant\n') return 'instruct-2507';
  return 'unknown';
}

/** True when the variant's generation prompt already opens `<think>` (so completions start inside the reasoning). */
export function promptOpensThink(variant: TemplateVariant | 'unknown'): boolean {
  return variant === 'thinking-2507';
}
