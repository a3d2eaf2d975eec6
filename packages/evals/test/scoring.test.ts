import { describe, expect, it } from 'vitest';
import {
  answerSection,
  buildPrompt,
  scoreCompletion,
  type ChoicePromptRecord,
  type ChoiceScore,
  type CodeScore,
  type MathScore,
} from '../src/index.js';
import type { ChoiceProblem, CodeProblem, MathProblem } from '../src/types.js';

const aime: MathProblem = { kind: 'math', id: 'aime24-7', question: 'Find N mod 1000.', answer: '25' };
const gsm: MathProblem = { kind: 'math', id: 'gsm8k-3', question: 'How much?', answer: '1234' };
const gpqa: ChoiceProblem = { kind: 'choice', id: 'gpqa-9', question: 'What is 2+2?', correct: '4', incorrect: ['3', '5', '22'] };
const lcb: CodeProblem = {
  kind: 'code',
  id: 'lcb-3',
  title: 'double',
  question: 'Print 2N.',
  starterCode: '',
  publicTests: [{ input: '3\n', output: '6\n', testtype: 'stdin' }],
  privateTests: [],
  platform: 'atcoder',
  difficulty: 'easy',
  contestDate: '2024-10-01',
};

const aimeOn = buildPrompt('aime24', aime, { thinking: 'on' });
const aimeOff = buildPrompt('aime24', aime, { thinking: 'off' });

describe('answer section', () => {
  it('takes the text after the last </think> (Thinking-2507: only the closing tag)', () => {
    expect(answerSection('reasoning … 24?\n</think>\n\nThe answer is \\boxed{25}.', 'on', 'stop')).toEqual({
      answer: 'The answer is \\boxed{25}.',
      reasoning: 'reasoning … 24?',
      truncated: false,
      truncation: null,
    });
  });
  it('handles hybrid thinking output with both tags', () => {
    const s = answerSection('<think>\nlet me think, \\boxed{24}\n</think>\n\n\\boxed{25}', 'on', 'stop');
    expect(s.answer).toBe('\\boxed{25}');
    expect(s.reasoning).toBe('let me think, \\boxed{24}');
  });
  it('uses the last </think> when the model closes twice', () => {
    expect(answerSection('a</think>draft \\boxed{1}</think>\nfinal \\boxed{2}', 'on', 'stop').answer).toBe('final \\boxed{2}');
  });
  it('is truncated when thinking never closes, or at the token cap', () => {
    expect(answerSection('<think>\nlong reasoning with \\boxed{25}', 'on', 'stop')).toMatchObject({ answer: null, truncated: true, truncation: 'unclosed-thinking' });
    expect(answerSection('reasoning without any tag \\boxed{25}', 'on', 'stop')).toMatchObject({ answer: null, truncated: true, truncation: 'unclosed-thinking' });
    expect(answerSection('r</think>\\boxed{25} and then more', 'on', 'length')).toMatchObject({ answer: null, truncated: true, truncation: 'length' });
    expect(answerSection('\\boxed{25} and then', 'off', 'length')).toMatchObject({ answer: null, truncated: true, truncation: 'length' });
  });
  it('takes the whole completion in non-thinking mode, unless it opens a think block it never closes', () => {
    expect(answerSection('Step 1 … \\boxed{25}', 'off', 'stop')).toEqual({ answer: 'Step 1 … \\boxed{25}', reasoning: null, truncated: false, truncation: null });
    expect(answerSection('<think>\nhmm \\boxed{25}', 'off', 'stop')).toMatchObject({ answer: null, truncated: true });
    expect(answerSection('<think>\nhmm\n</think>\n\n\\boxed{25}', 'off', 'stop').answer).toBe('\\boxed{25}');
  });
});

describe('scoreCompletion: math', () => {
  it('scores a correct AIME answer with a leading zero', () => {
    const s = scoreCompletion(aime, aimeOn, 'so N ≡ 25\n</think>\n\nThe final answer is $\\boxed{025}$.', 'stop') as MathScore;
    expect(s).toMatchObject({
      kind: 'math',
      problemId: 'aime24-7',
      promptHash: aimeOn.promptHash,
      truncated: false,
      noAnswer: false,
      extracted: '025',
      normalized: '25',
      extractionMethod: 'boxed',
      correct: true,
      equivalence: 'exact',
    });
  });
  it('never scores an answer found only inside the reasoning', () => {
    const s = scoreCompletion(aime, aimeOn, '<think>\nI get \\boxed{25}. The answer is 25.', 'stop') as MathScore;
    expect(s).toMatchObject({ truncated: true, truncation: 'unclosed-thinking', noAnswer: true, extracted: null, correct: false });
    const capped = scoreCompletion(aime, aimeOn, 'I get 25</think>\\boxed{25}', 'length') as MathScore;
    expect(capped).toMatchObject({ truncated: true, truncation: 'length', noAnswer: true, correct: false });
  });
  it('is no-answer (not truncated) when the answer part states nothing', () => {
    const s = scoreCompletion(aime, aimeOn, 'I think \\boxed{25}</think>\n\nI could not finish.', 'stop') as MathScore;
    expect(s).toMatchObject({ truncated: false, noAnswer: true, correct: false });
  });
  it('marks wrong answers wrong', () => {
    const s = scoreCompletion(aime, aimeOff, 'Therefore \\boxed{\\dfrac{50}{2}} … no wait, \\boxed{24}', 'stop') as MathScore;
    expect(s).toMatchObject({ extracted: '24', correct: false, equivalence: null, noAnswer: false });
    const frac = scoreCompletion(aime, aimeOff, '\\boxed{\\dfrac{50}{2}}', 'stop') as MathScore;
    expect(frac).toMatchObject({ correct: true, equivalence: 'numeric' });
  });
  it('reports GSM8K\'s three extractions', () => {
    const rec = buildPrompt('gsm8k', gsm, { thinking: 'off' });
    const s = scoreCompletion(gsm, rec, 'It costs 1,000 + 234.\nSo the total is \\boxed{\\$1,234.00}.', 'stop') as MathScore;
    expect(s.correct).toBe(true);
    expect(s.extractionMethod).toBe('boxed');
    expect(s.gsm8k?.strictMatch).toEqual({ extracted: '[invalid]', correct: false });
    expect(s.gsm8k?.flexibleExtract.extracted).toBe('$1,234.00');
    expect(s.gsm8k?.boxed.correct).toBe(true);
    const none = scoreCompletion(gsm, rec, 'I cannot tell.', 'stop') as MathScore;
    expect(none).toMatchObject({ noAnswer: true, correct: false, extracted: null });
  });
  it('refuses a record of another problem', () => {
    expect(() => scoreCompletion(gsm, aimeOn, '\\boxed{1}', 'stop')).toThrow(/does not belong/);
  });
});

describe('scoreCompletion: choice', () => {
  const rec = buildPrompt('gpqa-diamond', gpqa, { thinking: 'on' }) as ChoicePromptRecord;
  it('maps the letter through the recorded permutation', () => {
    // Pinned shuffle for this question: A) 5, B) 3, C) 22, D) 4.
    expect(rec.choice.correctLetter).toBe('D');
    const right = scoreCompletion(gpqa, rec, 'the sum is four\n</think>\n\n```json\n{"answer": "D"}\n```', 'stop') as ChoiceScore;
    expect(right).toMatchObject({ letter: 'D', correct: true, chosenOriginalIndex: 0, correctLetter: 'D', extractionMethod: 'json-field' });
    const wrong = scoreCompletion(gpqa, rec, '</think>Answer: (A)', 'stop') as ChoiceScore;
    // A shows '5' = incorrect[1], i.e. index 2 of [correct, ...incorrect].
    expect(wrong).toMatchObject({ letter: 'A', correct: false, chosenOriginalIndex: 2 });
  });
  it('re-scores identically from a stored (JSON round-tripped) record', () => {
    const stored = JSON.parse(JSON.stringify(rec)) as ChoicePromptRecord;
    const text = '</think>The answer is (D).';
    expect(scoreCompletion(gpqa, stored, text, 'stop')).toEqual(scoreCompletion(gpqa, rec, text, 'stop'));
  });
  it('does not read a letter from unfinished reasoning', () => {
    const s = scoreCompletion(gpqa, rec, 'Clearly "answer": "D"', 'stop') as ChoiceScore;
    expect(s).toMatchObject({ truncated: true, noAnswer: true, letter: null, correct: false });
  });
});

describe('scoreCompletion: code', () => {
  const rec = buildPrompt('livecodebench', lcb, { thinking: 'on' });
  it('returns the last python block of the answer, not code from the reasoning', () => {
    const text = 'draft:\n```python\nprint(0)\n```\n</think>\n\nHere:\n```python\nn = int(input())\nprint(2 * n)\n```\n';
    const s = scoreCompletion(lcb, rec, text, 'stop') as CodeScore;
    expect(s).toMatchObject({ kind: 'code', truncated: false, noAnswer: false, program: 'n = int(input())\nprint(2 * n)' });
  });
  it('has no program when truncated or without a block', () => {
    expect(scoreCompletion(lcb, rec, '```python\nprint(0)\n```', 'stop')).toMatchObject({ truncated: true, program: null, noAnswer: true });
    expect(scoreCompletion(lcb, rec, '</think>I give up.', 'stop')).toMatchObject({ truncated: false, program: null, noAnswer: true });
  });
});
