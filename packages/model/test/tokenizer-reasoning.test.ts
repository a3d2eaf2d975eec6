import { describe, expect, it } from 'vitest';
import { splitReasoning } from '../src/tokenizer/index.js';

describe('splitReasoning, Thinking-2507 (the prompt opened <think>)', () => {
  const opts = { promptOpensThink: true };

  it('complete: reasoning up to </think>, then the answer', () => {
    expect(splitReasoning('Let me add.\n2+2=4.\n</think>\n\nThe answer is 4.', opts)).toEqual({
      reasoning: 'Let me add.\n2+2=4.',
      answer: 'The answer is 4.',
      reasoningTruncated: false,
    });
  });

  it('truncated: no </think> means the budget ran out mid-reasoning', () => {
    expect(splitReasoning('\nLet me think about this for a long', opts)).toEqual({
      reasoning: 'Let me think about this for a long',
      answer: '',
      reasoningTruncated: true,
    });
    expect(splitReasoning('', opts)).toEqual({ reasoning: '', answer: '', reasoningTruncated: true });
  });

  it('a stray opening <think> emitted by the model is dropped', () => {
    expect(splitReasoning('<think>\nhm\n</think>\n\nok', opts)).toEqual({
      reasoning: 'hm',
      answer: 'ok',
      reasoningTruncated: false,
    });
  });

  it('only the first </think> ends the reasoning', () => {
    expect(splitReasoning('r</think>\n\nuse the </think> tag', opts)).toEqual({
      reasoning: 'r',
      answer: 'use the </think> tag',
      reasoningTruncated: false,
    });
  });

  it('empty reasoning', () => {
    expect(splitReasoning('\n</think>\n\n4', opts)).toEqual({ reasoning: '', answer: '4', reasoningTruncated: false });
  });
});

describe('splitReasoning, hybrid / Instruct-2507 (the prompt did not open <think>)', () => {
  const opts = { promptOpensThink: false };

  it('hybrid thinking: an explicit <think>…</think> block', () => {
    expect(splitReasoning('<think>\nTwo plus two.\n</think>\n\n4', opts)).toEqual({
      reasoning: 'Two plus two.',
      answer: '4',
      reasoningTruncated: false,
    });
  });

  it('hybrid thinking, truncated inside the block', () => {
    expect(splitReasoning('<think>\nTwo plus', opts)).toEqual({
      reasoning: 'Two plus',
      answer: '',
      reasoningTruncated: true,
    });
  });

  it('instruct / hybrid with thinking off: no reasoning at all', () => {
    expect(splitReasoning('The answer is 4.', opts)).toEqual({
      reasoning: null,
      answer: 'The answer is 4.',
      reasoningTruncated: false,
    });
    expect(splitReasoning('I <think> so', opts)).toEqual({
      reasoning: null,
      answer: 'I <think> so',
      reasoningTruncated: false,
    });
  });
});
