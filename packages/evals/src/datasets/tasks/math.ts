import type { MathProblem } from '../../types.js';
import type { RawRow } from '../readers/index.js';
import { has, rowError, str, textOrInt } from './fields.js';

/**
 * GSM8K (openai/gsm8k, config main): `question`, and `answer` the reference solution whose last line is
 * `#### <number>`; the problem's answer is that number with thousands separators removed ("1,000" → "1000").
 * Ids: `gsm8k/<split>/<row-1>` (0-based row index in the pinned file, as `datasets` indexes it).
 */
export function gsm8kProblem(r: RawRow, split: string): MathProblem {
  const question = str(r, 'question');
  const solution = str(r, 'answer');
  const at = solution.lastIndexOf('####');
  if (at < 0) throw rowError(r, 'answer', "the reference solution has no '#### <number>' final line");
  const answer = solution.slice(at + 4).trim().replace(/,/g, '');
  if (!/^[-+]?(\d+(\.\d*)?|\.\d+)$/.test(answer)) {
    throw rowError(r, 'answer', `the text after '####' is ${JSON.stringify(solution.slice(at + 4).trim())}, not a number`);
  }
  return { kind: 'math', id: `gsm8k/${split}/${r.row - 1}`, question, answer };
}

/**
 * AIME: the question from `problem` (HuggingFaceH4/aime_2024, math-ai/aime25) or `question` (opencompass/AIME2025),
 * the answer an integer 0–999 (leading zeros dropped: "049" → "49"). Ids: `<task>/<id>` from the source's `id`
 * column when it has one, else `<task>/<file stem>-<row>` (opencompass: `aime25/aime2025-II-3` is problem II.3).
 */
export function aimeProblem(r: RawRow, task: 'aime24' | 'aime25'): MathProblem {
  const field = has(r, 'problem') ? 'problem' : 'question';
  const question = str(r, field);
  const raw = textOrInt(r, 'answer');
  if (!/^\d{1,3}$/.test(raw)) throw rowError(r, 'answer', `an AIME answer is an integer 0-999, found ${JSON.stringify(raw)}`);
  const answer = String(Number(raw));
  const stem = (r.file.split('/').pop() ?? r.file).replace(/\.[^.]+$/, '');
  const id = has(r, 'id') ? `${task}/${textOrInt(r, 'id')}` : `${task}/${stem}-${r.row}`;
  return { kind: 'math', id, question, answer };
}
