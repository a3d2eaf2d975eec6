import type { ChoiceProblem } from '../../types.js';
import type { RawRow } from '../readers/index.js';
import { str } from './fields.js';

/**
 * GPQA (Idavidrein/gpqa, gpqa_diamond.csv): `Question`, `Correct Answer`, `Incorrect Answer 1..3`, `Record ID`.
 * Answers are trimmed (the CSV has stray spaces and newlines around some); choice order is the prompt's business.
 * Ids: `gpqa-diamond/<Record ID>`.
 */
export const GPQA_COLUMNS = ['Question', 'Correct Answer', 'Incorrect Answer 1', 'Incorrect Answer 2', 'Incorrect Answer 3', 'Record ID'] as const;

export function gpqaProblem(r: RawRow): ChoiceProblem {
  const question = str(r, 'Question').trim();
  const correct = str(r, 'Correct Answer').trim();
  const incorrect = [str(r, 'Incorrect Answer 1').trim(), str(r, 'Incorrect Answer 2').trim(), str(r, 'Incorrect Answer 3').trim()] as const;
  const recordId = str(r, 'Record ID').trim();
  return { kind: 'choice', id: `gpqa-diamond/${recordId}`, question, correct, incorrect };
}
