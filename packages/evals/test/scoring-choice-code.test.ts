import { describe, expect, it } from 'vitest';
import { extractChoiceLetter, extractCode, extractCodeLcb } from '../src/index.js';

describe('choice letter extraction', () => {
  it.each([
    ['{"reasoning": "…", "answer": "C"}', 'C', 'json-field'],
    ['```json\n{\n    "reasoning": "Energy scales as 1/n^2.",\n    "answer": "B"\n}\n```', 'B', 'json-field'],
    ["{'answer': 'D'}", 'D', 'json-field'],
    ['"answer": "(A)"', 'A', 'json-field'],
    ['answer: C', 'C', 'labelled'],
    ['Answer: (C)', 'C', 'labelled'],
    ['**Answer:** D', 'D', 'labelled'],
    ['**Answer: B**', 'B', 'labelled'],
    ['Final Answer: A', 'A', 'labelled'],
    ['Answer: B) 42 kJ', 'B', 'labelled'],
    ['Thus $\\boxed{C}$', 'C', 'boxed'],
    ['\\boxed{\\text{(D)}}', 'D', 'boxed'],
    ['The answer is (C).', 'C', 'phrase'],
    ['So the correct answer is **B**.', 'B', 'phrase'],
    ['the correct option is D because the ring strain dominates', 'D', 'phrase'],
    ['Therefore, the answer is option A', 'A', 'phrase'],
    ['I pick **C**', 'C', 'bold'],
    ['Final choice:\n\n(B)\n', 'B', 'alone'],
  ] as const)('%j → %s (%s)', (text, letter, method) => {
    expect(extractChoiceLetter(text)).toEqual({ letter, method });
  });

  it('takes the last answer field and prefers the field over prose', () => {
    expect(extractChoiceLetter('"answer": "A" … on reflection … "answer": "D"')?.letter).toBe('D');
    expect(extractChoiceLetter('The answer is (B). Formally: {"answer": "C"}')).toEqual({ letter: 'C', method: 'json-field' });
  });

  it('finds nothing in prose without a stated choice', () => {
    expect(extractChoiceLetter('the answer is a bit unclear')).toBeNull();
    expect(extractChoiceLetter('Answer: Approximately 5 eV')).toBeNull();
    expect(extractChoiceLetter('Vitamin C and B are both relevant here')).toBeNull();
    expect(extractChoiceLetter('"answer": "E"')).toBeNull();
    expect(extractChoiceLetter('')).toBeNull();
  });
});

describe('code extraction', () => {
  it('takes the last python block', () => {
    const text = 'First try:\n```python\nprint(1)\n```\nBetter:\n```python\nn = int(input())\nprint(n * 2)\n```\nDone.';
    expect(extractCode(text)).toEqual({ code: 'n = int(input())\nprint(n * 2)', language: 'python', method: 'fenced' });
  });
  it('accepts bare fences and py/python3 tags', () => {
    expect(extractCode('```\nx = 1\n```')).toEqual({ code: 'x = 1', language: '', method: 'fenced' });
    expect(extractCode('```py\nx = 2\n```')?.code).toBe('x = 2');
    expect(extractCode('```Python3\nx = 3\n```')?.code).toBe('x = 3');
  });
  it('skips a trailing block in another language for the last python one', () => {
    const text = '```python\nprint(42)\n```\nSample run:\n```text\n42\n```';
    expect(extractCode(text)).toEqual({ code: 'print(42)', language: 'python', method: 'fenced' });
    expect(extractCode('```cpp\nint main(){}\n```')).toEqual({ code: 'int main(){}', language: 'cpp', method: 'fenced-other-language' });
  });
  it('keeps nested backticks inside a longer fence and indented code', () => {
    const text = '````python\ns = """```"""\nclass Solution:\n    def f(self):\n        return 1\n````';
    expect(extractCode(text)?.code).toBe('s = """```"""\nclass Solution:\n    def f(self):\n        return 1');
  });
  it('falls back to an unclosed final python block, else null', () => {
    expect(extractCode('```python\nprint(5)\n')).toEqual({ code: 'print(5)\n', language: 'python', method: 'unclosed' });
    expect(extractCode('no code at all')).toBeNull();
    expect(extractCode('```python\n```')).toBeNull();
  });
  it('matches LiveCodeBench\'s extract_code rule in extractCodeLcb', () => {
    const text = '```python\na = 1\n```\nthen\n```python\nb = 2\n```';
    expect(extractCodeLcb(text)).toBe('b = 2');
    expect(extractCodeLcb('```python\nonly opening')).toBe('');
    // Three fence lines: LCB returns the span between the last two (prose), ours the real block.
    const odd = '```python\nc = 3\n```\nNote: wrap with ``` fences';
    expect(extractCodeLcb(odd)).toBe('');
    expect(extractCode(odd)?.code).toBe('c = 3');
  });
});
