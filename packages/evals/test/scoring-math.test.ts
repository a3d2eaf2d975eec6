import { describe, expect, it } from 'vitest';
import {
  aimeInteger,
  allBoxed,
  extractMathAnswer,
  lastBoxed,
  latexToMathjs,
  mathEquivalent,
  normalizeMathAnswer,
  parseNumeric,
} from '../src/index.js';

describe('boxed extraction', () => {
  it('takes the last box, with nested braces', () => {
    expect(lastBoxed('First \\boxed{1}, then \\boxed{\\frac{\\sqrt{3}}{2}}.')).toBe('\\frac{\\sqrt{3}}{2}');
    expect(lastBoxed('$\\boxed{\\left\\{1, 2\\right\\}}$')).toBe('\\left\\{1, 2\\right\\}');
    expect(lastBoxed('\\boxed{{a}{b{c}}} and more')).toBe('{a}{b{c}}');
  });
  it('handles \\boxed 5, \\boxed {x}, \\fbox and rejects other commands and unclosed boxes', () => {
    expect(lastBoxed('so the answer is $\\boxed 5$.')).toBe('5');
    expect(lastBoxed('\\boxed {42}')).toBe('42');
    expect(lastBoxed('\\fbox{17}')).toBe('17');
    expect(lastBoxed('\\boxedsomething{3}')).toBeNull();
    expect(lastBoxed('\\boxed{12')).toBeNull();
    expect(lastBoxed('\\boxed{7} then \\boxed{12')).toBe('7');
    expect(lastBoxed('no box here')).toBeNull();
  });
  it('lists all boxes in order', () => {
    expect(allBoxed('\\boxed{1} \\fbox{2} \\boxed{3}').map((b) => b.content)).toEqual(['1', '2', '3']);
  });
});

describe('normalisation', () => {
  const cases: [string, string][] = [
    ['\\dfrac{1}{2}', '\\frac{1}{2}'],
    ['\\tfrac{3}{4}', '\\frac{3}{4}'],
    ['\\frac12', '\\frac{1}{2}'],
    ['\\frac1{12}', '\\frac{1}{12}'],
    ['025', '25'],
    ['-007', '-7'],
    ['000', '0'],
    ['90^\\circ', '90'],
    ['90^{\\circ}', '90'],
    ['45°', '45'],
    ['\\text{(B)}', '(B)'],
    ['5\\text{ cm}', '5'],
    ['12 \\mbox{ dollars}', '12'],
    ['1,234.00', '1234'],
    ['12.50', '12.5'],
    ['.5', '0.5'],
    ['x = 5', '5'],
    ['a_1=3', '3'],
    ['\\left( 1, 2 \\right)', '(1,2)'],
    ['$\\frac12$', '\\frac{1}{2}'],
    ['\\(\\sqrt2\\)', '\\sqrt{2}'],
    ['\\$18.00', '18'],
    ['50\\%', '50'],
    ['3\\!\\cdot\\!4', '3\\cdot4'],
    ['1\\,000', '1000'],
    ['{5}', '5'],
    ['42.', '42'],
    ['\\displaystyle 7', '7'],
  ];
  it.each(cases)('%s → %s', (input, expected) => {
    expect(normalizeMathAnswer(input)).toBe(expected);
  });
});

describe('numeric parsing', () => {
  it('parses numbers, fractions and closed forms', () => {
    expect(parseNumeric('25')).toBe(25);
    expect(parseNumeric('-3.5')).toBe(-3.5);
    expect(parseNumeric('\\frac{3}{4}')).toBeCloseTo(0.75, 12);
    expect(parseNumeric('-\\frac{1}{3}')).toBeCloseTo(-1 / 3, 12);
    expect(parseNumeric('\\frac{\\sqrt{3}}{2}')).toBeCloseTo(Math.sqrt(3) / 2, 12);
    expect(parseNumeric('2\\pi')).toBeCloseTo(2 * Math.PI, 12);
    expect(parseNumeric('3/4')).toBeCloseTo(0.75, 12);
    expect(parseNumeric('\\sqrt[3]{27}')).toBeCloseTo(3, 12);
    expect(parseNumeric('x+1')).toBeNull();
    expect(parseNumeric('\\int_0^1 x')).toBeNull();
  });
  it('translates LaTeX to mathjs syntax', () => {
    expect(latexToMathjs('\\frac{1}{\\frac{2}{3}}')).toBe('((1)/(((2)/(3))))');
    expect(latexToMathjs('2^{10}\\cdot3')).toBe('2^(10)*3');
    expect(latexToMathjs('\\unknown{3}')).toBeNull();
  });
  it('refuses unsafe or non-arithmetic mathjs input', () => {
    expect(parseNumeric('import(1)')).toBeNull();
    expect(parseNumeric('f(x)=1')).toBeNull();
    expect(parseNumeric('createUnit(1)')).toBeNull();
  });
});

describe('equivalence', () => {
  it('is exact after normalisation', () => {
    expect(mathEquivalent('\\dfrac{1}{2}', '\\frac{1}{2}')).toEqual({ equal: true, method: 'exact' });
    expect(mathEquivalent('025', '25')).toEqual({ equal: true, method: 'exact' });
    expect(mathEquivalent('$90^\\circ$', '90')).toEqual({ equal: true, method: 'exact' });
  });
  it('is numeric with a relative tolerance', () => {
    expect(mathEquivalent('0.5', '\\frac{1}{2}')).toEqual({ equal: true, method: 'numeric' });
    expect(mathEquivalent('2\\sqrt{2}', '\\sqrt{8}')).toEqual({ equal: true, method: 'numeric' });
    expect(mathEquivalent('0.3333333', '\\frac{1}{3}')).toEqual({ equal: true, method: 'numeric' });
    expect(mathEquivalent('0.333', '\\frac{1}{3}')).toEqual({ equal: false, method: null });
    expect(mathEquivalent('24', '25')).toEqual({ equal: false, method: null });
    expect(mathEquivalent('0.333', '\\frac{1}{3}', { relTol: 1e-2 }).equal).toBe(true);
  });
  it('is symbolic through mathjs', () => {
    expect(mathEquivalent('(x+1)^2', 'x^2+2x+1')).toEqual({ equal: true, method: 'symbolic' });
    expect(mathEquivalent('\\frac{x}{2}', '0.5x')).toEqual({ equal: true, method: 'symbolic' });
    expect(mathEquivalent('x^2', 'x^3').equal).toBe(false);
    expect(mathEquivalent('a+b', 'a-b').equal).toBe(false);
  });
  it('never throws and rejects huge or empty input', () => {
    expect(mathEquivalent('', '5')).toEqual({ equal: false, method: null });
    expect(mathEquivalent('\\frac{', '5').equal).toBe(false);
    const huge = Array.from({ length: 200 }, (_, i) => `x^${i}`).join('+');
    expect(mathEquivalent(huge, huge.split('+').reverse().join('+'))).toEqual({ equal: false, method: null });
    expect(mathEquivalent('(', ')').equal).toBe(false);
  });
});

describe('math answer extraction', () => {
  it('prefers the last box', () => {
    expect(extractMathAnswer('Maybe \\boxed{3}? No: the final answer is \\boxed{025}.')).toEqual({ answer: '025', method: 'boxed' });
  });
  it('falls back to "final answer" / "the answer is" phrases', () => {
    expect(extractMathAnswer('So, the answer is 204.')).toEqual({ answer: '204', method: 'phrase' });
    expect(extractMathAnswer('Final Answer: $\\frac{3}{4}$')).toEqual({ answer: '\\frac{3}{4}', method: 'phrase' });
    expect(extractMathAnswer('**Final answer:** **73**')).toEqual({ answer: '73', method: 'phrase' });
    expect(extractMathAnswer('I could not solve it.')).toBeNull();
  });
  it('reads AIME integers in 0–999 only', () => {
    expect(aimeInteger(normalizeMathAnswer('025'))).toBe(25);
    expect(aimeInteger('999')).toBe(999);
    expect(aimeInteger('1000')).toBeNull();
    expect(aimeInteger('2.5')).toBeNull();
  });
});
