/**
 * The chosen letter of a multiple-choice answer, in order of trust (the last occurrence of the first kind found):
 * 1. the JSON answer field Qwen's instruction asks for: `"answer": "C"`;
 * 2. a labelled answer: `answer: C`, `Answer: (C)`, `**Answer:** C`, `Final Answer: C`;
 * 3. `\boxed{C}` (also `\boxed{\text{C}}`, `\boxed{(C)}`);
 * 4. a stated choice: "the answer is (C)", "the correct option is C";
 * 5. a bold letter `**C**` / `**(C)**`, or a line holding only the letter.
 * Letters are upper-case A–D only, so "the answer is a" does not count.
 */
import { CHOICE_LETTERS, type ChoiceLetter } from '../prompts/choice.js';
import { allBoxed } from './boxed.js';

export type ChoiceMethod = 'json-field' | 'labelled' | 'boxed' | 'phrase' | 'bold' | 'alone';

export interface ChoiceExtraction {
  readonly letter: ChoiceLetter;
  readonly method: ChoiceMethod;
}

/** After the letter: end of line, closing punctuation or markup, never another letter or digit. */
const END = String.raw`(?=\s*(?:$|[)\]"'\x60*.,;:!]|\s+(?:is|as|because|since|-|–|—)\b))`;

const PATTERNS: readonly { method: ChoiceMethod; re: RegExp }[] = [
  { method: 'json-field', re: /["'\x60]answer["'\x60]\s*:\s*["'\x60]\s*\(?([A-D])\)?\s*["'\x60]/gi },
  {
    method: 'labelled',
    re: new RegExp(String.raw`\b[Aa][Nn][Ss][Ww][Ee][Rr]\**\s*\**\s*[:=]\s*\**\s*[("'\x60[]?\s*([A-D])\s*[)"'\x60\]]?\**${END}`, 'gm'),
  },
  {
    method: 'phrase',
    re: new RegExp(
      String.raw`(?:[Aa]nswer|[Cc]hoice|[Oo]ption)\s+(?:is|would be|should be)\s*:?\s*\**\s*(?:[Oo]ption\s+|[Cc]hoice\s+)?\(?([A-D])\)?\**${END}`,
      'gm',
    ),
  },
  { method: 'bold', re: /\*\*\s*\(?([A-D])\)?\s*\*\*/g },
  { method: 'alone', re: /^[ \t]*\(?([A-D])\)?[ \t]*\.?[ \t]*$/gm },
];

function boxedLetter(text: string): ChoiceLetter | null {
  const boxes = allBoxed(text);
  for (let k = boxes.length - 1; k >= 0; k--) {
    const inner = boxes[k]!.content
      .replace(/\\text(?:bf)?\s*\{([^{}]*)\}/g, '$1')
      .replace(/[\s()]/g, '');
    if ((CHOICE_LETTERS as readonly string[]).includes(inner)) return inner as ChoiceLetter;
  }
  return null;
}

export function extractChoiceLetter(answerText: string): ChoiceExtraction | null {
  const order: ChoiceMethod[] = ['json-field', 'labelled', 'boxed', 'phrase', 'bold', 'alone'];
  for (const method of order) {
    if (method === 'boxed') {
      const letter = boxedLetter(answerText);
      if (letter !== null) return { letter, method };
      continue;
    }
    const { re } = PATTERNS.find((p) => p.method === method)!;
    const last = [...answerText.matchAll(re)].at(-1);
    const letter = last?.[1]?.toUpperCase();
    if (letter !== undefined && (CHOICE_LETTERS as readonly string[]).includes(letter)) {
      return { letter: letter as ChoiceLetter, method };
    }
  }
  return null;
}
