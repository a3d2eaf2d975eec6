import { describe, expect, it } from 'vitest';
import {
  GSM8K_FLEXIBLE_PATTERN,
  GSM8K_STRICT_PATTERN,
  gsm8kFlexibleExtract,
  gsm8kNumber,
  gsm8kStrictMatch,
  lmEvalGsm8kExactMatch,
  lmEvalGsm8kNormalize,
  lmEvalRegexFilter,
  scoreGsm8kAnswer,
} from '../src/index.js';

describe('lm-evaluation-harness gsm8k filters', () => {
  it('uses the harness patterns verbatim', () => {
    expect(GSM8K_STRICT_PATTERN).toBe('#### (\\-?[0-9\\.\\,]+)');
    expect(GSM8K_FLEXIBLE_PATTERN).toBe('(-?[$0-9.,]{2,})|(-?[0-9]+)');
  });

  it('strict-match takes the first "#### N"', () => {
    expect(gsm8kStrictMatch('She pays 5 + 3 = 8.\n#### 8')).toBe('8');
    expect(gsm8kStrictMatch('#### 1,234.\n#### 99')).toBe('1,234.');
    expect(gsm8kStrictMatch('#### -12')).toBe('-12');
    expect(gsm8kStrictMatch('The answer is 8')).toBe('[invalid]');
    expect(gsm8kStrictMatch('####8')).toBe('[invalid]');
  });

  it('flexible-extract takes the last number-like match, first non-empty group', () => {
    expect(gsm8kFlexibleExtract('3 apples + 4 apples = 7 apples')).toBe('7');
    expect(gsm8kFlexibleExtract('The total is $1,234.00 dollars.')).toBe('$1,234.00');
    expect(gsm8kFlexibleExtract('So the answer is 18.')).toBe('18.');
    expect(gsm8kFlexibleExtract('It costs -5 now')).toBe('-5');
    expect(gsm8kFlexibleExtract('no digits')).toBe('[invalid]');
    // Single digits only match the second alternative.
    expect(gsm8kFlexibleExtract('a 1 b 2 c')).toBe('2');
  });

  it('emulates re.findall group selection', () => {
    expect(lmEvalRegexFilter('(a)|(b)', 'xbxa', -1)).toBe('a');
    expect(lmEvalRegexFilter('(a)|(b)', 'xbxa', 0)).toBe('b');
    expect(lmEvalRegexFilter('ab', 'ab ab', 0)).toBe('ab');
    expect(lmEvalRegexFilter('(a)', 'xyz', 0)).toBe('[invalid]');
  });

  it('scores with the task\'s exact_match (commas, $, "#### " prefix, final period, case)', () => {
    expect(lmEvalGsm8kNormalize('Natalia sold 48/2 = 24 clips.\n#### 72')).toBe('72');
    expect(lmEvalGsm8kExactMatch('1,234.', '1234')).toBe(true);
    expect(lmEvalGsm8kExactMatch('$18', '18')).toBe(true);
    expect(lmEvalGsm8kExactMatch('72', 'In all she sold 72 clips.\n#### 72')).toBe(true);
    // The harness does not strip ".00": a known weakness, kept for parity.
    expect(lmEvalGsm8kExactMatch('$1,234.00', '1234')).toBe(false);
    expect(lmEvalGsm8kExactMatch('[invalid]', '1234')).toBe(false);
  });
});

describe('normalised GSM8K numbers', () => {
  it.each([
    ['$1,234.00', 1234],
    ['\\$1,234.00', 1234],
    ['18 dollars', 18],
    ['18.', 18],
    ['\\text{18 apples}', 18],
    ['18\\text{ apples}', 18],
    ['-7', -7],
    ['\\frac{7}{2}', 3.5],
    ['0.50', 0.5],
    ['1,000,000', 1000000],
  ] as const)('%s → %d', (input, expected) => {
    expect(gsm8kNumber(input)).toBe(expected);
  });
  it('is null without a number', () => {
    expect(gsm8kNumber('none')).toBeNull();
  });
});

describe('scoreGsm8kAnswer', () => {
  it('reports all three extractions and the primary (boxed) answer', () => {
    const s = scoreGsm8kAnswer('Total: 1,000 + 234 = 1,234.\nThe answer is \\boxed{\\$1,234.00}.', '1234');
    expect(s.boxed).toEqual({ extracted: '\\$1,234.00', correct: true });
    expect(s.strictMatch).toEqual({ extracted: '[invalid]', correct: false });
    // The last number-like match is "$1,234.00" inside the box; the harness exact_match leaves "1234.00" ≠ "1234".
    expect(s.flexibleExtract).toEqual({ extracted: '$1,234.00', correct: false });
    expect(s.primary).toEqual({ extracted: '\\$1,234.00', method: 'boxed', correct: true });
  });
  it('falls back to strict-match, then "the answer is", then flexible-extract', () => {
    expect(scoreGsm8kAnswer('5 + 3 = 8\n#### 8', '8').primary).toEqual({ extracted: '8', method: 'strict', correct: true });
    expect(scoreGsm8kAnswer('So the answer is 42 apples, not 7.', '42').primary).toEqual({ extracted: '42', method: 'phrase', correct: true });
    expect(scoreGsm8kAnswer('5 + 3 = 9', '8').primary).toEqual({ extracted: '9', method: 'flexible', correct: false });
    expect(scoreGsm8kAnswer('I do not know.', '8').primary).toEqual({ extracted: null, method: null, correct: false });
  });
  it('marks a wrong boxed answer wrong even when the last number is right', () => {
    const s = scoreGsm8kAnswer('We get 8. So \\boxed{9}... wait, 8', '8');
    expect(s.primary).toEqual({ extracted: '9', method: 'boxed', correct: false });
    expect(s.flexibleExtract.correct).toBe(true);
  });
  it('accepts the reference in the dataset\'s full "… #### N" form', () => {
    expect(scoreGsm8kAnswer('\\boxed{72}', 'She sold 48+24 = 72 clips.\n#### 72').primary.correct).toBe(true);
  });
});
