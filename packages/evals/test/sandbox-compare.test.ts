/** LiveCodeBench's stdout comparison (grade_stdio), host-side: pure, no sandbox needed. */

import { describe, expect, it } from 'vitest';

import { compareStdout, parseDecimal, pySplit, pyStrip, strippedLines } from '../src/sandbox/index.js';

const verdict = (actual: string, expected: string): string => compareStdout(actual, expected).verdict;

describe('compareStdout', () => {
  it('strips surrounding whitespace of the text and of every line', () => {
    expect(verdict('1 2\n3\n', '1 2\n3')).toBe('pass');
    expect(verdict('  1 2  \r\n3\t\n\n\n', '1 2\n3')).toBe('pass');
    expect(strippedLines('\n\na\n b \n\n')).toEqual(['a', 'b']);
    expect(strippedLines('')).toEqual(['']);
  });

  it('needs the same number of lines (blank lines inside count)', () => {
    expect(verdict('1\n\n2', '1\n2')).toBe('wrong-answer');
    expect(verdict('', '0')).toBe('wrong-answer');
    expect(compareStdout('1\n2\n3', '1\n2').message).toMatch(/mismatched output length/);
  });

  it('falls back to exact decimal equality per whitespace-separated token', () => {
    expect(verdict('1.0 2.50', '1 2.5')).toBe('pass');
    expect(verdict('1e2', '100')).toBe('pass');
    expect(verdict('-0.0', '0')).toBe('pass');
    expect(verdict('1_000', '1000')).toBe('pass');
    expect(verdict('1.   2', '1 2')).toBe('pass');
    expect(verdict('0.30000000000000004', '0.3')).toBe('wrong-answer');
    expect(verdict('50000000000000000', '50000000000000001')).toBe('wrong-answer');
    expect(verdict('1 2', '1 2 3')).toBe('wrong-answer');
    expect(verdict('Yes', 'YES')).toBe('wrong-answer');
    expect(verdict('inf', 'Infinity')).toBe('pass');
    expect(verdict('nan', 'nan')).toBe('pass'); // identical lines match before any parsing
    expect(verdict('nan', 'NaN')).toBe('wrong-answer');
    expect(verdict('snan', '1')).toBe('error');
  });

  it('parses decimals as Python does', () => {
    expect(parseDecimal('.5')).toEqual({ kind: 'finite', negative: false, digits: '5', exponent: -1n });
    expect(parseDecimal('+12.3400e-2')).toEqual({ kind: 'finite', negative: false, digits: '1234', exponent: -4n });
    for (const bad of ['.', '', '1e', 'e5', '1__0', '_1', '0x10', '1,5', '--1']) expect(parseDecimal(bad)).toBeUndefined();
  });

  it("uses Python's whitespace for strip and split", () => {
    expect(pyStrip('\x1c a \x85')).toBe('a');
    expect(pyStrip('\ufeffa')).toBe('\ufeffa');
    expect(pySplit(' a\u3000b\t c ')).toEqual(['a', 'b', 'c']);
  });
});
