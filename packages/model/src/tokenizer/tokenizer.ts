/**
 * The Qwen3 tokenizer of a model directory: byte-level BPE from `tokenizer.json` (run by `@huggingface/tokenizers`)
 * plus the chat template from `tokenizer_config.json` (run by `@huggingface/jinja`).
 */
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import type { ChatMessage } from '@quantbench/core';
import { z } from 'zod';
import { ModelFileError } from '../errors.js';
import { errorCode, isNotFound, modelFilePath, openModelSource, type ModelFiles, type ModelSource } from '../files/model-files.js';
import { detectTemplateVariant, type TemplateVariant } from './template-variants.js';

export interface RenderChatOptions {
  /**
   * Thinking mode, passed to the template as `enable_thinking`. Only the hybrid template has the switch; for the
   * 2507 templates the mode is fixed by the model (`thinking-2507` always thinks, `instruct-2507` never does) and a
   * contradicting value throws, so a benchmark cannot silently run the wrong mode.
   */
  readonly thinking: boolean;
  /** Append the assistant header (and whatever the variant adds to it). Default true. */
  readonly addGenerationPrompt?: boolean;
  /**
   * Append Qwen's soft switch to the last user message: ` /think` when `thinking`, else ` /no_think`. Only the
   * hybrid Qwen3 models (e.g. Qwen3-4B) were trained to honour it; the 2507 models (Thinking-2507, Instruct-2507)
   * ignore it and just see the extra text.
   */
  readonly softSwitch?: boolean;
}

export interface DecodeOptions {
  /** Drop tokens marked `special` in tokenizer.json (`<|im_start|>`, `<|im_end|>`, `<|endoftext|>`, vision tokens).
   * Note `<think>`, `</think>`, `<tool_call>` … are added tokens but *not* special, so they are kept. */
  readonly skipSpecialTokens?: boolean;
}

export interface QwenSpecialIds {
  readonly endOfText: number;
  readonly imStart: number;
  readonly imEnd: number;
  readonly thinkStart: number;
  readonly thinkEnd: number;
}

export interface QwenTokenizer {
  /** Token ids of `text`. Adds nothing (Qwen has no BOS). Text spelling an added token (e.g. `<|im_end|>`) becomes
   * that token, as with transformers' `split_special_tokens=false`. The normalizer is NFC, so decode(encode(s)) is
   * `s.normalize('NFC')`, not always `s`. */
  encode(text: string): number[];
  decode(ids: readonly number[] | Int32Array, opts?: DecodeOptions): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  readonly specialIds: QwenSpecialIds;
  /** Generation stops at any of these: `<|im_end|>` (end of turn) and `<|endoftext|>`. */
  readonly eosTokenIds: readonly number[];
  /** Largest token id of the tokenizer (model vocab and added tokens). */
  readonly maxTokenId: number;
  readonly chatTemplate: string;
  readonly templateVariant: TemplateVariant | 'unknown';
  renderChat(messages: readonly ChatMessage[], opts: RenderChatOptions): string;
  encodeChat(messages: readonly ChatMessage[], opts: RenderChatOptions): Int32Array;
}

const tokenizerJsonSchema = z.looseObject({
  model: z.looseObject({
    type: z.string(),
    vocab: z.record(z.string(), z.number().int().nonnegative()),
  }),
  added_tokens: z.array(
    z.looseObject({
      id: z.number().int().nonnegative(),
      content: z.string(),
      special: z.boolean().optional(),
    }),
  ),
});

const tokenizerConfigSchema = z.looseObject({
  chat_template: z
    .union([z.string(), z.array(z.looseObject({ name: z.string(), template: z.string() }))])
    .optional(),
});

async function readJson(files: ModelFiles, name: string, fix: string): Promise<unknown> {
  const file = modelFilePath(files, name);
  let text: string;
  try {
    text = await files.readText(name);
  } catch (e) {
    const code = errorCode(e);
    const why = code === 'EHTTP' ? (e as Error).message : (code ?? String(e));
    throw new ModelFileError(file, isNotFound(e) ? 'file is missing' : `cannot read file (${why})`, {
      fix,
    });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ModelFileError(file, `invalid JSON (${(e as Error).message})`, { fix });
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/**
 * Loads `dir/tokenizer.json` and `dir/tokenizer_config.json` (the chat template may instead be in
 * `dir/chat_template.jinja`, where recent transformers versions save it). `dir` is a directory path (Node) or a
 * ModelFiles, e.g. `httpModelFiles(url)` in a browser.
 *
 * With `vocabSize` (the model's `config.json` `vocab_size`), checks that every token id of the tokenizer is below it;
 * the embedding may be larger than the tokenizer (Qwen3-4B: 151 936 rows for 151 669 ids), never smaller.
 *
 * Every problem with the files is a `ModelFileError` naming the file and the fix.
 */
export async function loadTokenizer(dir: ModelSource, opts: { vocabSize?: number } = {}): Promise<QwenTokenizer> {
  const { files, owned } = await openModelSource(dir);
  try {
    return await loadTokenizerFrom(files, opts);
  } finally {
    if (owned) await files.close?.();
  }
}

async function loadTokenizerFrom(files: ModelFiles, opts: { vocabSize?: number }): Promise<QwenTokenizer> {
  const dir = files.location;
  const tokenizerFile = modelFilePath(files, 'tokenizer.json');
  const configFile = modelFilePath(files, 'tokenizer_config.json');
  const fixFiles = `copy tokenizer.json and tokenizer_config.json from the model's Hugging Face repository into ${dir}`;

  const tokenizerRaw = await readJson(files, 'tokenizer.json', fixFiles);
  const tokenizerParsed = tokenizerJsonSchema.safeParse(tokenizerRaw);
  if (!tokenizerParsed.success) {
    throw new ModelFileError(tokenizerFile, `not a tokenizers JSON file: ${describeIssues(tokenizerParsed.error)}`, {
      fix: fixFiles,
    });
  }
  const configRaw = await readJson(files, 'tokenizer_config.json', fixFiles);
  const configParsed = tokenizerConfigSchema.safeParse(configRaw);
  if (!configParsed.success) {
    throw new ModelFileError(configFile, `not a tokenizer config: ${describeIssues(configParsed.error)}`, {
      fix: fixFiles,
    });
  }

  let chatTemplate: string | undefined;
  let templateFile = configFile;
  const ct = configParsed.data.chat_template;
  if (typeof ct === 'string') chatTemplate = ct;
  else if (Array.isArray(ct)) chatTemplate = ct.find((t) => t.name === 'default')?.template;
  if (chatTemplate === undefined) {
    if (await files.exists('chat_template.jinja')) {
      templateFile = modelFilePath(files, 'chat_template.jinja');
      chatTemplate = await files.readText('chat_template.jinja');
    }
  }
  if (chatTemplate === undefined) {
    throw new ModelFileError(configFile, 'no chat_template (and no chat_template.jinja next to it)', {
      fix: `use the tokenizer_config.json of the model's Hugging Face repository (it carries the chat template), or write one with copyQwen3TokenizerFiles`,
    });
  }
  let compiled: Template;
  try {
    compiled = new Template(chatTemplate);
  } catch (e) {
    throw new ModelFileError(templateFile, `chat_template does not parse as Jinja (${(e as Error).message})`, {
      fix: fixFiles,
    });
  }

  // Highest id of the tokenizer, for the vocab-fit check and maxTokenId.
  let maxId = -1;
  let maxToken = '';
  for (const [token, id] of Object.entries(tokenizerParsed.data.model.vocab)) {
    if (id > maxId) [maxId, maxToken] = [id, token];
  }
  for (const t of tokenizerParsed.data.added_tokens) {
    if (t.id > maxId) [maxId, maxToken] = [t.id, t.content];
  }
  if (opts.vocabSize !== undefined && maxId >= opts.vocabSize) {
    throw new ModelFileError(
      tokenizerFile,
      `tokenizer does not fit the model: id ${maxId} '${maxToken}' >= vocab_size ${opts.vocabSize} in config.json`,
      { fix: 'use the tokenizer that belongs to this checkpoint, or correct vocab_size in config.json' },
    );
  }

  let tok: Tokenizer;
  try {
    tok = new Tokenizer(tokenizerParsed.data, configParsed.data);
  } catch (e) {
    throw new ModelFileError(tokenizerFile, `the tokenizer cannot be built (${(e as Error).message})`, {
      fix: fixFiles,
    });
  }

  const need = (token: string): number => {
    const id = tok.token_to_id(token);
    if (id === undefined) {
      throw new ModelFileError(tokenizerFile, `token '${token}' is missing: not a Qwen3 tokenizer`, { fix: fixFiles });
    }
    return id;
  };
  const specialIds: QwenSpecialIds = Object.freeze({
    endOfText: need('<|endoftext|>'),
    imStart: need('<|im_start|>'),
    imEnd: need('<|im_end|>'),
    thinkStart: need('<think>'),
    thinkEnd: need('</think>'),
  });

  return new QwenTokenizerImpl(tok, compiled, chatTemplate, detectTemplateVariant(chatTemplate), specialIds, maxId);
}

class QwenTokenizerImpl implements QwenTokenizer {
  readonly eosTokenIds: readonly number[];

  constructor(
    private readonly tok: Tokenizer,
    private readonly template: Template,
    readonly chatTemplate: string,
    readonly templateVariant: TemplateVariant | 'unknown',
    readonly specialIds: QwenSpecialIds,
    readonly maxTokenId: number,
  ) {
    this.eosTokenIds = Object.freeze([specialIds.imEnd, specialIds.endOfText]);
  }

  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: readonly number[] | Int32Array, opts: DecodeOptions = {}): string {
    return this.tok.decode(Array.from(ids), { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }

  renderChat(messages: readonly ChatMessage[], opts: RenderChatOptions): string {
    const fixed =
      this.templateVariant === 'thinking-2507' ? true : this.templateVariant === 'instruct-2507' ? false : undefined;
    if (fixed !== undefined && opts.thinking !== fixed) {
      throw new Error(
        `renderChat: thinking=${opts.thinking} but the chat template is '${this.templateVariant}', which is ${
          fixed ? 'thinking-only' : 'non-thinking-only'
        } (no enable_thinking switch); pass thinking=${fixed}`,
      );
    }
    let msgs = messages.map((m) => ({ role: m.role, content: m.content }));
    if (opts.softSwitch === true) {
      const last = msgs.map((m) => m.role).lastIndexOf('user');
      const target = msgs[last];
      if (target === undefined) throw new Error('renderChat: softSwitch needs a user message to append it to');
      msgs = msgs.with(last, { ...target, content: `${target.content} ${opts.thinking ? '/think' : '/no_think'}` });
    }
    return this.template.render({
      messages: msgs,
      add_generation_prompt: opts.addGenerationPrompt ?? true,
      enable_thinking: opts.thinking,
    });
  }

  encodeChat(messages: readonly ChatMessage[], opts: RenderChatOptions): Int32Array {
    return Int32Array.from(this.encode(this.renderChat(messages, opts)));
  }
}

export interface StreamDecoder {
  /** Adds one generated token; returns the text it completes ('' while a multi-byte character is still partial). */
  push(id: number): string;
  /** Returns whatever is held back (incomplete bytes decode to U+FFFD) and resets. */
  flush(): string;
}

/**
 * Incremental detokeniser for streaming. Byte-level BPE tokens are byte strings: a multi-byte UTF-8 character
 * (CJK, emoji, …) can be split across tokens, and decoding such a prefix gives U+FFFD for the partial bytes. The
 * decoder keeps the tokens since the last emitted text, decodes them together, and emits only once the result no
 * longer ends with U+FFFD. The concatenation of all `push` results and `flush()` equals `decode(allIds)` (byte-level
 * decoding is a per-token byte concatenation, so decoding in pieces at character boundaries is exact). A genuine
 * trailing U+FFFD (invalid bytes) is held back until the next token or `flush()`.
 */
export function createStreamDecoder(tokenizer: QwenTokenizer, opts: DecodeOptions = {}): StreamDecoder {
  let pending: number[] = [];
  return {
    push(id: number): string {
      pending.push(id);
      const text = tokenizer.decode(pending, opts);
      if (text.endsWith('\uFFFD')) return '';
      pending = [];
      return text;
    },
    flush(): string {
      const text = pending.length > 0 ? tokenizer.decode(pending, opts) : '';
      pending = [];
      return text;
    },
  };
}
