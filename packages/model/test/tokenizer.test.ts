import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelFileError } from '../src/errors.js';
import {
  chatTemplateFor,
  createStreamDecoder,
  loadTokenizer,
  qwen3TokenizerAssetsDir,
  type QwenTokenizer,
} from '../src/tokenizer/index.js';

const QWEN3_4B_VOCAB_SIZE = 151_936; // config.json vocab_size of Qwen3-4B(-2507): the embedding has padding rows

let tok: QwenTokenizer;
/** The raw model vocab of tokenizer.json (byte-level token string → id), to check ids independently of the library. */
let rawVocab: Record<string, number>;
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'qb-tokenizer-'));
  tok = await loadTokenizer(qwen3TokenizerAssetsDir(), { vocabSize: QWEN3_4B_VOCAB_SIZE });
  const raw = JSON.parse(await readFile(join(qwen3TokenizerAssetsDir(), 'tokenizer.json'), 'utf8')) as {
    model: { vocab: Record<string, number> };
  };
  rawVocab = raw.model.vocab;
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Mixed-script texts for round trips (all already NFC: the tokenizer's normalizer is NFC). */
const TEXTS: Record<string, string> = {
  english: 'The quick brown fox jumps over the lazy dog. 12345 + 678 = 13023!',
  chinese: '中文分词测试：今天天气很好，我们去公园散步吧。',
  japanese: '日本語のテキスト、カタカナとひらがな。漢字も。',
  russian: 'Привет, мир! Съешь же ещё этих мягких французских булок.',
  arabic: 'مرحبا بالعالم، هذا اختبار للنص العربي.',
  emojiZwj: 'family: 👩‍👩‍👧 and 🏳️‍🌈 and 👍🏽 done',
  combining: 'q\u0303 \u00e4\u0301 Z\u0335\u0321\u0347 ṩ', // marks with no (or partial) precomposed form survive NFC
  code: 'def f(x):\n\tif x:\n\t\treturn [1,\t2]\n\n\n    else:  \r\n        pass\n',
  specialText: 'a literal <|im_end|> and <think>not reasoning</think> and <|endoftext|>',
  mixed: 'Hello 世界 мир 🌍 عالم\u00a0—\u200bzero-width\ufeff',
};

describe('loadTokenizer on the shipped Qwen3 tokenizer', () => {
  it('knows the Qwen special ids and eos set', () => {
    expect(tok.specialIds).toEqual({
      endOfText: 151643,
      imStart: 151644,
      imEnd: 151645,
      thinkStart: 151667,
      thinkEnd: 151668,
    });
    expect(tok.eosTokenIds).toEqual([151645, 151643]);
    expect(tok.maxTokenId).toBe(151668);
    expect(tok.templateVariant).toBe('hybrid');
    expect(tok.tokenToId('<|im_start|>')).toBe(151644);
    expect(tok.idToToken(151668)).toBe('</think>');
    expect(tok.tokenToId('no such token')).toBeUndefined();
  });

  it('encodes without adding a BOS, with ids from the vocab of tokenizer.json', () => {
    expect(rawVocab['Hello']).toBe(9707);
    expect(tok.encode('Hello')).toEqual([rawVocab['Hello']]);
    // Byte-level BPE: a leading space is 'Ġ', a newline 'Ċ', two newlines 'ĊĊ'.
    expect(tok.encode('Hello world')).toEqual([rawVocab['Hello'], rawVocab['Ġworld']]);
    expect(tok.encode('The quick brown fox')).toEqual(
      ['The', 'Ġquick', 'Ġbrown', 'Ġfox'].map((t) => rawVocab[t]),
    );
    expect(tok.encode('The quick brown fox')).toEqual([785, 3974, 13876, 38835]);
  });

  it('encodes a known chat prompt to exact ids', () => {
    const prompt = tok.renderChat(
      [
        { role: 'system', content: 'You are a helpful assistant.' },
        { role: 'user', content: 'Hello world' },
      ],
      { thinking: false },
    );
    const v = (t: string): number => {
      const id = rawVocab[t];
      if (id === undefined) throw new Error(`no ${t} in vocab`);
      return id;
    };
    const expected = [
      151644, v('system'), v('Ċ'), v('You'), v('Ġare'), v('Ġa'), v('Ġhelpful'), v('Ġassistant'), v('.'), 151645, v('Ċ'),
      151644, v('user'), v('Ċ'), v('Hello'), v('Ġworld'), 151645, v('Ċ'),
      151644, v('assistant'), v('Ċ'), 151667, v('ĊĊ'), 151668, v('ĊĊ'),
    ];
    expect(expected).toEqual([
      151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198,
      151644, 872, 198, 9707, 1879, 151645, 198,
      151644, 77091, 198, 151667, 271, 151668, 271,
    ]);
    const ids = tok.encodeChat(
      [
        { role: 'system', content: 'You are a helpful assistant.' },
        { role: 'user', content: 'Hello world' },
      ],
      { thinking: false },
    );
    expect(ids).toBeInstanceOf(Int32Array);
    expect(Array.from(ids)).toEqual(expected);
    expect(tok.encode(prompt)).toEqual(expected);
  });

  it('round-trips mixed-script text exactly', () => {
    for (const [name, text] of Object.entries(TEXTS)) {
      expect(text.normalize('NFC'), name).toBe(text);
      expect(tok.decode(tok.encode(text)), name).toBe(text);
    }
  });

  it('normalizes to NFC, so decomposed text comes back composed', () => {
    const decomposed = 'Cafe\u0301 and n\u0303';
    expect(tok.decode(tok.encode(decomposed))).toBe('Café and ñ');
    expect(tok.encode(decomposed)).toEqual(tok.encode('Café and ñ'));
  });

  it('treats text that spells an added token as that token', () => {
    expect(tok.encode('<|im_end|>x<think>')).toEqual([151645, rawVocab['x'], 151667]);
  });

  it('skips special tokens on request, keeping <think> and </think> (added but not special)', () => {
    const ids = tok.encode('<|im_start|>assistant\n<think>\nhm\n</think>\n\nok<|im_end|><|endoftext|>');
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('assistant\n<think>\nhm\n</think>\n\nok');
    expect(tok.decode(ids)).toBe('<|im_start|>assistant\n<think>\nhm\n</think>\n\nok<|im_end|><|endoftext|>');
    expect(tok.decode(new Int32Array(ids))).toBe(tok.decode(ids));
  });
});

describe('createStreamDecoder', () => {
  it('reproduces the full decode token by token', () => {
    for (const [name, text] of Object.entries(TEXTS)) {
      const ids = tok.encode(text);
      const dec = createStreamDecoder(tok);
      const pieces = ids.map((id) => dec.push(id));
      pieces.push(dec.flush());
      expect(pieces.join(''), name).toBe(tok.decode(ids));
      for (const p of pieces) expect(p.includes('\uFFFD'), name).toBe(false);
    }
  });

  it('holds back a character split across tokens', () => {
    const ids = tok.encode('👩‍👩‍👧');
    // Per-token decoding shows the split: some tokens alone are only part of a character.
    expect(ids.some((id) => tok.decode([id]).includes('\uFFFD'))).toBe(true);
    const dec = createStreamDecoder(tok);
    const pieces = ids.map((id) => dec.push(id));
    expect(pieces).toContain('');
    expect(pieces.join('')).toBe('👩‍👩‍👧');
    expect(dec.flush()).toBe('');
  });

  it('honours skipSpecialTokens and flushes an incomplete tail as U+FFFD', () => {
    const ids = tok.encode('<|im_start|>hi 日本<|im_end|>');
    const dec = createStreamDecoder(tok, { skipSpecialTokens: true });
    expect(ids.map((id) => dec.push(id)).join('') + dec.flush()).toBe('hi 日本');

    const emoji = tok.encode('👩');
    expect(emoji.length).toBe(1);
    const partial = tok.encode('👩‍👩');
    const split = partial.findIndex((id) => tok.decode([id]).includes('\uFFFD'));
    expect(split).toBeGreaterThan(0);
    const d2 = createStreamDecoder(tok);
    let out = '';
    for (const id of partial.slice(0, split + 1)) out += d2.push(id);
    expect(out).toBe('👩');
    expect(d2.flush()).toBe('\uFFFD');
  });
});

describe('vocab fit', () => {
  it('rejects a tokenizer with ids beyond the model vocab_size', async () => {
    const err = await loadTokenizer(qwen3TokenizerAssetsDir(), { vocabSize: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFileError);
    expect((err as ModelFileError).file).toBe(join(qwen3TokenizerAssetsDir(), 'tokenizer.json'));
    expect((err as Error).message).toContain(
      "tokenizer does not fit the model: id 151668 '</think>' >= vocab_size 1000 in config.json",
    );
  });

  it('rejects at the exact boundary', async () => {
    await expect(loadTokenizer(qwen3TokenizerAssetsDir(), { vocabSize: 151668 })).rejects.toThrow(
      "id 151668 '</think>' >= vocab_size 151668",
    );
  });
});

describe('bad tokenizer files', () => {
  const dirFor = async (name: string): Promise<string> => {
    const d = join(tmp, name);
    await mkdir(d, { recursive: true });
    return d;
  };

  const expectModelFileError = async (dir: string, file: string, problem: RegExp): Promise<ModelFileError> => {
    const err = await loadTokenizer(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFileError);
    const mfe = err as ModelFileError;
    expect(mfe.file).toBe(join(dir, file));
    expect(mfe.problem).toMatch(problem);
    expect(mfe.options.fix).toBeTruthy();
    expect(mfe.message).toContain('Fix:');
    return mfe;
  };

  it('missing tokenizer.json', async () => {
    const d = await dirFor('empty');
    await expectModelFileError(d, 'tokenizer.json', /missing/);
  });

  it('corrupt tokenizer.json', async () => {
    const d = await dirFor('corrupt');
    await writeFile(join(d, 'tokenizer.json'), '{"model": {"type": "BPE", "vocab": {');
    await expectModelFileError(d, 'tokenizer.json', /invalid JSON/);
  });

  it('tokenizer.json of the wrong shape', async () => {
    const d = await dirFor('shape');
    await writeFile(join(d, 'tokenizer.json'), JSON.stringify({ model: { type: 'BPE', vocab: { a: -1 } } }));
    await expectModelFileError(d, 'tokenizer.json', /not a tokenizers JSON file: .*(vocab|added_tokens)/);
  });

  describe('with the real tokenizer.json', () => {
    const withTokenizer = async (name: string): Promise<string> => {
      const d = await dirFor(name);
      await copyFile(join(qwen3TokenizerAssetsDir(), 'tokenizer.json'), join(d, 'tokenizer.json'));
      return d;
    };
    const shippedConfig = async (): Promise<Record<string, unknown>> =>
      JSON.parse(await readFile(join(qwen3TokenizerAssetsDir(), 'tokenizer_config.json'), 'utf8')) as Record<
        string,
        unknown
      >;

    it('missing tokenizer_config.json', async () => {
      const d = await withTokenizer('no-config');
      await expectModelFileError(d, 'tokenizer_config.json', /missing/);
    });

    it('corrupt tokenizer_config.json', async () => {
      const d = await withTokenizer('bad-config');
      await writeFile(join(d, 'tokenizer_config.json'), 'not json');
      await expectModelFileError(d, 'tokenizer_config.json', /invalid JSON/);
    });

    it('tokenizer_config.json without chat_template', async () => {
      const d = await withTokenizer('no-template');
      const config = await shippedConfig();
      delete config['chat_template'];
      await writeFile(join(d, 'tokenizer_config.json'), JSON.stringify(config));
      const err = await expectModelFileError(d, 'tokenizer_config.json', /no chat_template/);
      expect(err.options.fix).toMatch(/tokenizer_config\.json/);
    });

    it('a chat template that does not parse', async () => {
      const d = await withTokenizer('bad-jinja');
      const config = await shippedConfig();
      config['chat_template'] = '{%- if messages %}unterminated';
      await writeFile(join(d, 'tokenizer_config.json'), JSON.stringify(config));
      await expectModelFileError(d, 'tokenizer_config.json', /does not parse/);
    });

    it('falls back to chat_template.jinja (where recent transformers save the template)', async () => {
      const d = await withTokenizer('jinja-file');
      const config = await shippedConfig();
      delete config['chat_template'];
      await writeFile(join(d, 'tokenizer_config.json'), JSON.stringify(config));
      await writeFile(join(d, 'chat_template.jinja'), chatTemplateFor('instruct-2507'));
      const t = await loadTokenizer(d);
      expect(t.templateVariant).toBe('instruct-2507');
      expect(t.renderChat([{ role: 'user', content: 'Hi' }], { thinking: false })).toBe(
        '<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
      );
    });
  });
});
