import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatMessage } from '@quantbench/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TEMPLATE_TRANSFORMATIONS,
  TEMPLATE_VARIANTS,
  applyTemplateTransformation,
  chatTemplateFor,
  copyQwen3TokenizerFiles,
  deriveChatTemplate,
  detectTemplateVariant,
  loadTokenizer,
  promptOpensThink,
  qwen3TokenizerAssetsDir,
  shippedQwen3ChatTemplate,
  type QwenTokenizer,
  type TemplateVariant,
} from '../src/tokenizer/index.js';

let tmp: string;
const toks = {} as Record<TemplateVariant, QwenTokenizer>;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'qb-chat-'));
  // One model directory per variant, written the way the synthetic-checkpoint writer does it.
  for (const v of TEMPLATE_VARIANTS) {
    const dir = join(tmp, v);
    await copyQwen3TokenizerFiles(dir, v);
    toks[v] = await loadTokenizer(dir);
  }
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const SYS_USER: ChatMessage[] = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'What is 2+2?' },
];

describe('template derivation', () => {
  it('hybrid is the shipped template, unchanged', () => {
    expect(chatTemplateFor('hybrid')).toBe(shippedQwen3ChatTemplate());
    expect(shippedQwen3ChatTemplate()).toContain('enable_thinking');
  });

  it('each transformation matches the shipped template exactly once', () => {
    for (const v of TEMPLATE_VARIANTS) {
      let t = shippedQwen3ChatTemplate();
      for (const tr of TEMPLATE_TRANSFORMATIONS[v]) {
        expect(t.match(tr.pattern)?.length, `${v}/${tr.name}`).toBe(1);
        t = applyTemplateTransformation(t, tr);
        expect(t.match(tr.pattern), `${v}/${tr.name} applied`).toBeNull();
      }
      expect(t).toBe(chatTemplateFor(v));
    }
  });

  it('thinking-2507 opens <think> in the generation prompt and drops the switch', () => {
    const t = chatTemplateFor('thinking-2507');
    expect(t).not.toContain('enable_thinking');
    expect(t).toContain("{{- '<|im_start|>assistant\\n<think>\\n' }}");
    // The reasoning handling of earlier turns is kept.
    expect(t).toContain('reasoning_content');
  });

  it('instruct-2507 has no think block anywhere', () => {
    const t = chatTemplateFor('instruct-2507');
    expect(t).not.toContain('enable_thinking');
    expect(t).not.toContain('<think>');
    expect(t).not.toContain('</think>');
    expect(t).not.toContain('reasoning_content');
    expect(t).toContain('message.tool_calls'); // tool-call rendering kept
  });

  it('refuses to transform a template that is not the expected hybrid one', () => {
    const other = '{%- for message in messages %}{{ message.content }}{%- endfor %}';
    expect(() => deriveChatTemplate(other, 'thinking-2507')).toThrow(/open-think-in-generation-prompt.*found 0/);
    expect(() => deriveChatTemplate(other, 'instruct-2507')).toThrow(/plain-generation-prompt/);
    const doubled = `${shippedQwen3ChatTemplate()}${shippedQwen3ChatTemplate()}`;
    expect(() => deriveChatTemplate(doubled, 'thinking-2507')).toThrow(/found 2/);
    expect(deriveChatTemplate(other, 'hybrid')).toBe(other);
  });

  it('detects each variant by behaviour', () => {
    for (const v of TEMPLATE_VARIANTS) expect(detectTemplateVariant(chatTemplateFor(v))).toBe(v);
    for (const v of TEMPLATE_VARIANTS) expect(toks[v].templateVariant).toBe(v);
    expect(detectTemplateVariant('{{ messages[0].content }}')).toBe('unknown');
    expect(detectTemplateVariant('{%- if %}')).toBe('unknown');
    expect(promptOpensThink('thinking-2507')).toBe(true);
    expect(promptOpensThink('hybrid')).toBe(false);
    expect(promptOpensThink('instruct-2507')).toBe(false);
  });
});

describe('copyQwen3TokenizerFiles', () => {
  it('copies tokenizer.json as is and sets the variant template in tokenizer_config.json', async () => {
    const src = qwen3TokenizerAssetsDir();
    const dir = join(tmp, 'thinking-2507');
    expect((await readFile(join(dir, 'tokenizer.json'))).equals(await readFile(join(src, 'tokenizer.json')))).toBe(true);
    const written = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    const shipped = JSON.parse(await readFile(join(src, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    expect(written['chat_template']).toBe(chatTemplateFor('thinking-2507'));
    expect({ ...written, chat_template: null }).toEqual({ ...shipped, chat_template: null });
  });
});

describe('renderChat: system + user', () => {
  const HEAD =
    '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n';

  it('hybrid, thinking on: bare assistant header (the model opens <think> itself)', () => {
    expect(toks.hybrid.renderChat(SYS_USER, { thinking: true })).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('hybrid, thinking off: an empty think block is pre-filled', () => {
    expect(toks.hybrid.renderChat(SYS_USER, { thinking: false })).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
    );
  });

  it('thinking-2507: the prompt opens <think>', () => {
    expect(toks['thinking-2507'].renderChat(SYS_USER, { thinking: true })).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n',
    );
  });

  it('instruct-2507: bare assistant header, no think block', () => {
    expect(toks['instruct-2507'].renderChat(SYS_USER, { thinking: false })).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('without the generation prompt all variants render the same conversation', () => {
    expect(toks.hybrid.renderChat(SYS_USER, { thinking: true, addGenerationPrompt: false })).toBe(HEAD);
    expect(toks.hybrid.renderChat(SYS_USER, { thinking: false, addGenerationPrompt: false })).toBe(HEAD);
    expect(toks['thinking-2507'].renderChat(SYS_USER, { thinking: true, addGenerationPrompt: false })).toBe(HEAD);
    expect(toks['instruct-2507'].renderChat(SYS_USER, { thinking: false, addGenerationPrompt: false })).toBe(HEAD);
  });

  it('the 2507 templates refuse the mode they do not have', () => {
    expect(() => toks['thinking-2507'].renderChat(SYS_USER, { thinking: false })).toThrow(/thinking-only/);
    expect(() => toks['instruct-2507'].renderChat(SYS_USER, { thinking: true })).toThrow(/non-thinking-only/);
  });

  it('soft switches go on the last user message', () => {
    expect(toks.hybrid.renderChat(SYS_USER, { thinking: false, softSwitch: true })).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2? /no_think<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
    );
    expect(toks.hybrid.renderChat(SYS_USER, { thinking: true, softSwitch: true })).toBe(
      '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2? /think<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(SYS_USER[1]?.content).toBe('What is 2+2?'); // input not mutated
    expect(() =>
      toks.hybrid.renderChat([{ role: 'system', content: 's' }], { thinking: true, softSwitch: true }),
    ).toThrow(/user message/);
  });

  it('encodeChat tokenizes the rendered prompt, with the think tags as single tokens', () => {
    const ids = Array.from(toks['thinking-2507'].encodeChat(SYS_USER, { thinking: true }));
    expect(ids.slice(0, 1)).toEqual([151644]);
    expect(ids.slice(-5)).toEqual([151644, toks.hybrid.tokenToId('assistant'), 198, 151667, 198]);
    expect(ids.filter((i) => i === 151645)).toHaveLength(2);
  });
});

describe('renderChat: multi-turn with reasoning in an earlier assistant turn', () => {
  const CONVO: ChatMessage[] = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'What is 2+2?' },
    { role: 'assistant', content: '<think>\nTwo plus two.\n</think>\n\n4' },
    { role: 'user', content: 'And 3+3?' },
  ];

  it('hybrid drops the reasoning of turns before the last user query', () => {
    expect(toks.hybrid.renderChat(CONVO, { thinking: true })).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('thinking-2507 drops it too', () => {
    expect(toks['thinking-2507'].renderChat(CONVO, { thinking: true })).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n<think>\n',
    );
  });

  it('thinking-2507 history without an opening <think> (as its completions come) is stripped the same way', () => {
    const convo = CONVO.map((m) => (m.role === 'assistant' ? { ...m, content: 'Two plus two.\n</think>\n\n4' } : m));
    expect(toks['thinking-2507'].renderChat(convo, { thinking: true })).toBe(
      toks['thinking-2507'].renderChat(CONVO, { thinking: true }),
    );
  });

  it('instruct-2507 renders assistant turns verbatim', () => {
    expect(toks['instruct-2507'].renderChat(CONVO, { thinking: false })).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\nTwo plus two.\n</think>\n\n4<|im_end|>\n<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('keeps the reasoning of the turn after the last user query (hybrid, thinking-2507)', () => {
    const done: ChatMessage[] = [...CONVO, { role: 'assistant', content: '<think>\n\nSix.\n\n</think>\n\n\n6' }];
    const expected =
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n<think>\nSix.\n</think>\n\n6<|im_end|>\n';
    expect(toks.hybrid.renderChat(done, { thinking: true, addGenerationPrompt: false })).toBe(expected);
    expect(toks['thinking-2507'].renderChat(done, { thinking: true, addGenerationPrompt: false })).toBe(expected);
  });
});
