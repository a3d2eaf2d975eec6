import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  defaultDatasetsDir,
  isPinned,
  loadTask,
  manifestPath,
  readManifestFile,
  readRows,
  sha256File,
  TASK_NAMES,
  type RawRow,
} from '../src/datasets/index.js';
import type { ChoiceProblem, CodeProblem, MathProblem } from '../src/types.js';

const fixtures = join(defaultDatasetsDir(), 'fixtures');

async function collect(it: AsyncIterable<RawRow>): Promise<RawRow[]> {
  const out: RawRow[] = [];
  for await (const r of it) out.push(r);
  return out;
}

describe('manifests', () => {
  it('every real manifest and fixture manifest is valid; fixtures are fully pinned', async () => {
    for (const task of TASK_NAMES) {
      const real = await readManifestFile(manifestPath(task));
      expect(real.task).toBe(task);
      expect(real.source.kind).toBe('hub');
      const fx = await readManifestFile(manifestPath(task, { fixtures: true }));
      expect(fx.task).toBe(task);
      expect(isPinned(fx)).toBe(true);
      expect(fx.reader).toBe(real.reader); // fixtures use the real source's format
    }
  });

  it('states the expected row counts of the real sources', async () => {
    const rows = Object.fromEntries(await Promise.all(TASK_NAMES.map(async (t) => [t, (await readManifestFile(manifestPath(t))).rows])));
    expect(rows).toEqual({ gsm8k: 1319, aime24: 30, aime25: 30, 'gpqa-diamond': 198, livecodebench: 1055 });
    const lcb = await readManifestFile(manifestPath('livecodebench'));
    expect(lcb.releases?.['release_v5']?.rows).toBe(880);
    expect(lcb.releases?.['release_v6']?.files).toHaveLength(6);
    expect((await readManifestFile(manifestPath('gpqa-diamond'))).gated).toBe(true);
  });
});

describe('readers on the fixtures', () => {
  it('parquet (hyparquet): GSM8K columns, int64 ids as bigint', async () => {
    const rows = await collect(readRows('parquet', join(fixtures, 'gsm8k/main/test-00000-of-00001.parquet'), 'main/test-00000-of-00001.parquet'));
    expect(rows).toHaveLength(5);
    expect(Object.keys(rows[0]!.data).sort()).toEqual(['answer', 'question']);
    expect(rows[4]!.row).toBe(5);
    const aime = await collect(readRows('parquet', join(fixtures, 'aime24/data/train-00000-of-00001.parquet'), 'x.parquet'));
    expect(aime[0]!.data['id']).toBe(60n);
  });

  it('CSV (papaparse): quoted fields with newlines, commas and quotes, CRLF records', async () => {
    const path = join(fixtures, 'gpqa-diamond/gpqa_diamond.csv');
    expect(await readFile(path, 'utf8')).toContain('\r\n');
    const rows = await collect(readRows('csv', path, 'gpqa_diamond.csv'));
    expect(rows).toHaveLength(3);
    expect(rows[0]!.data['Question']).toContain('\nWhat is the probability');
    expect(rows[1]!.data['Question']).toContain('"mildly"');
    expect(rows[1]!.data['Incorrect Answer 1']).toBe('KMnO4, hot, acidic');
    expect(rows[2]!.data['Record ID']).toBe('recFixture0003');
  });

  it('jsonl: one object per line, numbered by line', async () => {
    const rows = await collect(readRows('jsonl', join(fixtures, 'aime25/aime2025-II.jsonl'), 'aime2025-II.jsonl'));
    expect(rows.map((r) => r.row)).toEqual([1, 2]);
    expect(rows[1]!.data['answer']).toBe('016');
  });
});

describe('loadTask on the fixtures (same verify path as the real sets)', () => {
  it('gsm8k: the answer is the number after ####, commas dropped', async () => {
    const { problems, source } = await loadTask('gsm8k', { fixtures: true });
    const math = problems as MathProblem[];
    expect(math.map((p) => p.answer)).toEqual(['27', '300', '1000', '-6', '7.5']);
    expect(math[0]).toMatchObject({ kind: 'math', id: 'gsm8k/test/0' });
    expect(math[0]!.question).toMatch(/^Mia buys/);
    expect(source).toMatchObject({ task: 'gsm8k', pinned: true, revision: null, origin: 'local', config: 'main', split: 'test' });
    const m = await readManifestFile(manifestPath('gsm8k', { fixtures: true }));
    expect(source.files).toEqual([{ path: m.files[0]!.path, sha256: m.files[0]!.sha256, size: m.files[0]!.size, rows: 5 }]);
    expect(source.files[0]!.sha256).toBe(await sha256File(join(fixtures, 'gsm8k', m.files[0]!.path)));
  });

  it('aime24 (parquet, id column) and aime25 (two jsonl files, no id column)', async () => {
    const a24 = (await loadTask('aime24', { fixtures: true })).problems as MathProblem[];
    expect(a24.map((p) => [p.id, p.answer])).toEqual([
      ['aime24/60', '16'],
      ['aime24/61', '120'],
      ['aime24/75', '49'],
    ]);
    const a25 = (await loadTask('aime25', { fixtures: true })).problems as MathProblem[];
    expect(a25.map((p) => p.id)).toEqual(['aime25/aime2025-I-1', 'aime25/aime2025-I-2', 'aime25/aime2025-II-1', 'aime25/aime2025-II-2']);
    expect(a25[3]!.answer).toBe('16');
  });

  it('gpqa-diamond: question, trimmed correct answer and three incorrect ones', async () => {
    const ps = (await loadTask('gpqa-diamond', { fixtures: true })).problems as ChoiceProblem[];
    expect(ps).toHaveLength(3);
    expect(ps[1]).toEqual({
      kind: 'choice',
      id: 'gpqa-diamond/recFixture0002',
      question: 'Which reagent converts a primary alcohol to an aldehyde without over-oxidation, "mildly"?',
      correct: 'PCC in dichloromethane',
      incorrect: ['KMnO4, hot, acidic', 'Jones reagent', 'NaBH4'],
    });
    expect(ps[2]!.question).toContain('\n\nChoose one.');
  });

  it('livecodebench: public tests, private tests decoded from base64+zlib+pickle, functional problems', async () => {
    const { problems, source } = await loadTask('livecodebench', { fixtures: true });
    expect(source.release).toBe('release_v2');
    const [stdin, functional, plain] = problems as CodeProblem[];
    expect(stdin).toMatchObject({ id: 'livecodebench/abc999_a', platform: 'atcoder', difficulty: 'easy', starterCode: '', contestDate: '2023-08-05T00:00:00' });
    expect(stdin!.funcName).toBeUndefined();
    expect(stdin!.publicTests).toEqual([{ input: '2\n1 1\n', output: '2\n', testtype: 'stdin' }]);
    expect(stdin!.privateTests).toHaveLength(4);
    expect(stdin!.privateTests[0]).toEqual({ input: '3\n1 2 3\n', output: '6\n', testtype: 'stdin' });
    expect(stdin!.privateTests[2]!.output).toBe('4000000000\n');
    expect(functional).toMatchObject({ id: 'livecodebench/9001', funcName: 'twoSum', platform: 'leetcode' });
    expect(functional!.starterCode).toContain('def twoSum');
    expect(functional!.privateTests).toEqual([
      { input: '[2,7,11,15]\n9', output: '[0, 1]', testtype: 'functional' },
      { input: '[3,3]\n6', output: '[0, 1]', testtype: 'functional' },
    ]);
    expect(plain!.privateTests).toEqual([{ input: 'xy\n', output: 'yx\n', testtype: 'stdin' }]); // plain JSON form
    // JSON.stringify sees the (lazily decoded) private tests like any other property.
    expect(JSON.parse(JSON.stringify(functional)).privateTests).toHaveLength(2);
  });

  it('livecodebench: release selection, date window (both ends included) and limit', async () => {
    const v1 = await loadTask('livecodebench', { fixtures: true, release: 'release_v1' });
    expect(v1.problems.map((p) => p.id)).toEqual(['livecodebench/abc999_a', 'livecodebench/9001']);
    expect(v1.source.files.map((f) => f.path)).toEqual(['test.jsonl']);
    const w = await loadTask('livecodebench', { fixtures: true, window: { from: '2024-01-13', to: '2024-04-20' } });
    expect(w.problems.map((p) => p.id)).toEqual(['livecodebench/9001', 'livecodebench/1999Z']);
    expect(w.totalRows).toBe(3);
    expect(w.source.window).toEqual({ from: '2024-01-13', to: '2024-04-20' });
    const early = await loadTask('livecodebench', { fixtures: true, window: { to: '2023-12-31' } });
    expect(early.problems).toHaveLength(1);
    const lim = await loadTask('livecodebench', { fixtures: true, limit: 2 });
    expect(lim.problems).toHaveLength(2);
    await expect(loadTask('livecodebench', { fixtures: true, release: 'release_v9' })).rejects.toThrow(/unknown release 'release_v9'.*release_v1, release_v2/);
    await expect(loadTask('livecodebench', { fixtures: true, window: { from: '2024/01/01' } })).rejects.toThrow(/YYYY-MM-DD/);
    await expect(loadTask('gsm8k', { fixtures: true, window: { from: '2024-01-01' } })).rejects.toThrow(/livecodebench only/);
    await expect(loadTask('gsm8k', { fixtures: true, limit: 0 })).rejects.toThrow(/positive integer/);
  });
});
