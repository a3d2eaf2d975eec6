import { inflateSync } from 'node:zlib';
import type { CodeProblem, CodeTest } from '../../types.js';
import { unpickleString } from '../pickle.js';
import type { RawRow } from '../readers/index.js';
import { jsonField, optStr, rowError, str } from './fields.js';

/**
 * LiveCodeBench (livecodebench/code_generation_lite): question_title, question_content, platform, question_id,
 * contest_id, contest_date, starter_code, difficulty, public_test_cases (JSON string), private_test_cases and
 * metadata (JSON string; `func_name` for functional problems).
 *
 * private_test_cases is either a JSON string or, in the lite files, base64(zlib(pickle(json string))), as
 * LiveCodeBench's own loader accepts both. The pickle goes through `unpickleString`, which accepts a pickled str and
 * nothing else. Decompression is capped (MAX_PRIVATE_TESTS_BYTES) so a hostile row cannot exhaust memory.
 *
 * Private tests can be large (hundreds of MB over a release), so every row's are decoded and checked once when the
 * problem is read, and then decoded again each time `privateTests` is read instead of being kept in memory: read the
 * property once per problem and hold on to the array while it is in use.
 * Ids: `livecodebench/<question_id>`.
 */
export const MAX_PRIVATE_TESTS_BYTES = 1 << 30;

export type PrivateTestsEncoding = 'json' | 'zlib-pickle';

export function decodePrivateTests(encoded: string): { json: string; encoding: PrivateTestsEncoding } {
  const trimmed = encoded.trim();
  if (trimmed.startsWith('[')) return { json: trimmed, encoding: 'json' };
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed)) throw new Error('neither a JSON list nor base64');
  const compressed = Buffer.from(trimmed, 'base64');
  const pickled = inflateSync(compressed, { maxOutputLength: MAX_PRIVATE_TESTS_BYTES });
  return { json: unpickleString(pickled), encoding: 'zlib-pickle' };
}

function parseTests(r: RawRow, field: string, json: string): CodeTest[] {
  let list: unknown;
  try {
    list = JSON.parse(json);
  } catch (e) {
    throw rowError(r, field, `the test cases are not valid JSON (${e instanceof Error ? e.message : String(e)})`, e);
  }
  if (!Array.isArray(list)) throw rowError(r, field, 'expected a JSON list of test cases');
  return list.map((t: unknown, i) => {
    const o = t as { input?: unknown; output?: unknown; testtype?: unknown } | null;
    if (o === null || typeof o !== 'object' || typeof o.input !== 'string' || typeof o.output !== 'string') {
      throw rowError(r, field, `test case ${i + 1} needs string 'input' and 'output'`);
    }
    if (o.testtype !== 'stdin' && o.testtype !== 'functional') {
      throw rowError(r, field, `test case ${i + 1} has testtype ${JSON.stringify(o.testtype)}, expected 'stdin' or 'functional'`);
    }
    return { input: o.input, output: o.output, testtype: o.testtype };
  });
}

function privateTestsOf(r: RawRow): CodeTest[] {
  const field = 'private_test_cases';
  let json: string;
  try {
    json = decodePrivateTests(str(r, field)).json;
  } catch (e) {
    if (e instanceof Error && e.name === 'DatasetError') throw e;
    throw rowError(r, field, `cannot decode the private test cases (${e instanceof Error ? e.message : String(e)})`, e);
  }
  return parseTests(r, field, json);
}

export function livecodebenchProblem(r: RawRow): CodeProblem {
  const questionId = str(r, 'question_id').trim();
  const contestDate = str(r, 'contest_date').trim();
  if (!/^\d{4}-\d{2}-\d{2}/.test(contestDate) || Number.isNaN(Date.parse(contestDate))) {
    throw rowError(r, 'contest_date', `expected an ISO date, found ${JSON.stringify(contestDate)}`);
  }
  const publicTests = parseTests(r, 'public_test_cases', str(r, 'public_test_cases'));
  const metadata = jsonField(r, 'metadata');
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw rowError(r, 'metadata', 'expected a JSON object');
  const funcName = (metadata as { func_name?: unknown }).func_name;
  if (funcName !== undefined && (typeof funcName !== 'string' || funcName === '')) throw rowError(r, 'metadata', "'func_name' must be a non-empty string");

  privateTestsOf(r); // decode and check now; keep only the encoded text
  const functional = publicTests.some((t) => t.testtype === 'functional');
  if (functional && funcName === undefined) throw rowError(r, 'metadata', "functional tests need 'func_name' in the metadata");

  const base = {
    kind: 'code' as const,
    id: `livecodebench/${questionId}`,
    title: str(r, 'question_title'),
    question: str(r, 'question_content'),
    starterCode: optStr(r, 'starter_code'),
    ...(typeof funcName === 'string' ? { funcName } : {}),
    publicTests,
    platform: str(r, 'platform').trim(),
    difficulty: str(r, 'difficulty').trim(),
    contestDate,
  };
  const row: RawRow = { file: r.file, row: r.row, data: { private_test_cases: r.data['private_test_cases'] } };
  return {
    ...base,
    get privateTests(): CodeTest[] {
      return privateTestsOf(row);
    },
  };
}
