import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DatasetError, defaultDatasetsDir, loadTask, manifestPath, readManifestFile, type DatasetManifest } from '../src/datasets/index.js';
import type { TaskName } from '../src/types.js';

const fixtures = join(defaultDatasetsDir(), 'fixtures');
let tmp: string;

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'qb-datasets-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
  vi.unstubAllEnvs();
});

/** Copies a fixture set and its manifest into tmp, letting the test edit either; returns the manifest path. */
async function copyFixture(task: TaskName, edit: (m: DatasetManifest) => DatasetManifest = (m) => m): Promise<string> {
  await cp(join(fixtures, task), join(tmp, task), { recursive: true });
  const m = await readManifestFile(manifestPath(task, { fixtures: true }));
  const path = join(tmp, `${task}.json`);
  await writeFile(path, JSON.stringify(edit(m), null, 2));
  return path;
}

function unpin(m: DatasetManifest): DatasetManifest {
  return { ...m, files: m.files.map((f) => ({ ...f, sha256: null, size: null })) };
}

async function failure(p: Promise<unknown>): Promise<DatasetError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DatasetError);
    return e as DatasetError;
  }
  throw new Error('expected a DatasetError');
}

describe('verification', () => {
  it('a changed byte is a sha256 mismatch naming the file and how to fix it', async () => {
    const manifest = await copyFixture('aime25');
    const file = join(tmp, 'aime25/aime2025-I.jsonl');
    await writeFile(file, (await readFile(file, 'utf8')).replace('"answer": "7"', '"answer": "8"'));
    const e = await failure(loadTask('aime25', { manifest }));
    expect(e.kind).toBe('checksum');
    expect(e.file).toBe('aime2025-I.jsonl');
    expect(e.message).toMatch(/sha256 mismatch: the manifest pins [0-9a-f]{64}, the file at .*aime2025-I\.jsonl has [0-9a-f]{64}/);
    expect(e.message).toMatch(/Fix: .*re-download/);
  });

  it('a truncated file is a size mismatch', async () => {
    const manifest = await copyFixture('gsm8k');
    const file = join(tmp, 'gsm8k/main/test-00000-of-00001.parquet');
    await writeFile(file, (await readFile(file)).subarray(0, 100));
    const e = await failure(loadTask('gsm8k', { manifest }));
    expect(e.kind).toBe('checksum');
    expect(e.message).toMatch(/size mismatch: the manifest pins \d+ bytes/);
  });

  it('a wrong row count is an error, never a partial run', async () => {
    const manifest = await copyFixture('gpqa-diamond', (m) => ({ ...m, rows: 4, files: [{ ...m.files[0]!, rows: 4 }] }));
    const e = await failure(loadTask('gpqa-diamond', { manifest }));
    expect(e.kind).toBe('row-count');
    expect(e.message).toBe(
      `gpqa_diamond.csv: the file has 3 rows but the manifest expects 4. Fix: ${e.fix}`,
    );
    expect(e.fix).toMatch(/never made from a file with the wrong number of rows/);
  });

  it('a missing file of a local set is named', async () => {
    const manifest = await copyFixture('aime25');
    await rm(join(tmp, 'aime25/aime2025-II.jsonl'));
    const e = await failure(loadTask('aime25', { manifest }));
    expect(e.message).toMatch(/missing from .*aime2025-II\.jsonl/);
  });

  it('an invalid manifest is explained', async () => {
    const manifest = await copyFixture('aime25', (m) => ({ ...m, rows: 5 }));
    const e = await failure(loadTask('aime25', { manifest }));
    expect(e.kind).toBe('manifest');
    expect(e.message).toMatch(/rows is 5 but the files' rows add up to 4/);
    const valid = await copyFixture('aime25');
    const other = await failure(loadTask('gsm8k', { manifest: valid }));
    expect(other.message).toMatch(/for task 'aime25', not 'gsm8k'/);
  });
});

describe('malformed rows name the file, row and field', () => {
  it('jsonl: a missing field', async () => {
    const manifest = await copyFixture('aime25', unpin);
    await writeFile(join(tmp, 'aime25/aime2025-II.jsonl'), '{"question": "Q1", "answer": "1"}\n{"question": "Q2"}\n');
    const e = await failure(loadTask('aime25', { manifest, onWarning: () => {} }));
    expect(e).toMatchObject({ kind: 'row', file: 'aime2025-II.jsonl', row: 2, field: 'answer' });
    expect(e.message).toMatch(/^aime2025-II\.jsonl: row 2: field 'answer': expected non-empty text, found nothing \(the column is missing\)\. Fix: /);
  });

  it('jsonl: broken JSON and out-of-range AIME answers', async () => {
    const manifest = await copyFixture('aime25', unpin);
    await writeFile(join(tmp, 'aime25/aime2025-I.jsonl'), '{"question": "Q1", "answer": "1"}\n{"question": "Q2", "answer": \n');
    expect(await failure(loadTask('aime25', { manifest, onWarning: () => {} }))).toMatchObject({ kind: 'row', row: 2, file: 'aime2025-I.jsonl' });
    await writeFile(join(tmp, 'aime25/aime2025-I.jsonl'), '{"question": "Q1", "answer": "1000"}\n{"question": "Q2", "answer": "2"}\n');
    const e = await failure(loadTask('aime25', { manifest, onWarning: () => {} }));
    expect(e).toMatchObject({ row: 1, field: 'answer' });
    expect(e.message).toMatch(/integer 0-999, found "1000"/);
  });

  it('parquet: a GSM8K solution without its #### line', async () => {
    const manifest = await copyFixture('gsm8k', (m) => ({ ...unpin(m), rows: 2, files: [{ ...m.files[0]!, sha256: null, size: null, rows: 2 }] }));
    const buf = parquetWriteBuffer({
      columnData: [
        { name: 'question', data: ['q1', 'q2'], type: 'STRING' },
        { name: 'answer', data: ['1 + 1 = 2\n#### 2', 'the answer is 3'], type: 'STRING' },
      ],
    });
    await writeFile(join(tmp, 'gsm8k/main/test-00000-of-00001.parquet'), new Uint8Array(buf));
    const e = await failure(loadTask('gsm8k', { manifest, onWarning: () => {} }));
    expect(e).toMatchObject({ kind: 'row', file: 'main/test-00000-of-00001.parquet', row: 2, field: 'answer' });
    expect(e.message).toMatch(/no '#### <number>' final line/);
  });

  it('parquet: a file that is not parquet', async () => {
    const manifest = await copyFixture('gsm8k', unpin);
    await writeFile(join(tmp, 'gsm8k/main/test-00000-of-00001.parquet'), 'question,answer\n');
    const e = await failure(loadTask('gsm8k', { manifest, onWarning: () => {} }));
    expect(e.kind).toBe('format');
    expect(e.message).toMatch(/not a readable parquet file/);
  });

  it('CSV: an unterminated quote and a missing column', async () => {
    const manifest = await copyFixture('gpqa-diamond', unpin);
    const csv = join(tmp, 'gpqa-diamond/gpqa_diamond.csv');
    const original = await readFile(csv, 'utf8');
    await writeFile(csv, `${original}"unterminated,1,2\r\n`);
    expect(await failure(loadTask('gpqa-diamond', { manifest, onWarning: () => {} }))).toMatchObject({ kind: 'format' });
    await writeFile(csv, original.replace('Incorrect Answer 3,Explanation', 'Wrong Answer 3,Explanation'));
    const e = await failure(loadTask('gpqa-diamond', { manifest, onWarning: () => {} }));
    expect(e).toMatchObject({ kind: 'row', row: 1, field: 'Incorrect Answer 3' });
  });

  it('livecodebench: undecodable private tests and a functional problem without func_name', async () => {
    const manifest = await copyFixture('livecodebench', unpin);
    const file = join(tmp, 'livecodebench/test2.jsonl');
    const row = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
    await writeFile(file, `${JSON.stringify({ ...row, private_test_cases: 'not base64 !' })}\n`);
    const e = await failure(loadTask('livecodebench', { manifest, onWarning: () => {} }));
    expect(e).toMatchObject({ kind: 'row', file: 'test2.jsonl', row: 1, field: 'private_test_cases' });
    await writeFile(
      file,
      `${JSON.stringify({ ...row, public_test_cases: JSON.stringify([{ input: '1', output: '1', testtype: 'functional' }]) })}\n`,
    );
    expect(await failure(loadTask('livecodebench', { manifest, onWarning: () => {} }))).toMatchObject({ field: 'metadata' });
    await writeFile(file, `${JSON.stringify({ ...row, contest_date: 'yesterday' })}\n`);
    expect(await failure(loadTask('livecodebench', { manifest, onWarning: () => {} }))).toMatchObject({ field: 'contest_date' });
  });

  it('duplicate ids are an error', async () => {
    const manifest = await copyFixture('livecodebench', unpin);
    const first = (await readFile(join(tmp, 'livecodebench/test.jsonl'), 'utf8')).split('\n')[0]!;
    await writeFile(join(tmp, 'livecodebench/test2.jsonl'), `${first}\n`);
    const e = await failure(loadTask('livecodebench', { manifest, onWarning: () => {} }));
    expect(e.message).toMatch(/duplicate problem id 'livecodebench\/abc999_a' \(first at test\.jsonl row 1\)/);
  });
});

describe('unpinned manifests', () => {
  it('load with a loud warning that says how to pin', async () => {
    const manifest = await copyFixture('aime25', unpin);
    const warnings: string[] = [];
    const r = await loadTask('aime25', { manifest, onWarning: (w) => warnings.push(w) });
    expect(r.problems).toHaveLength(4);
    expect(r.source.pinned).toBe(false);
    expect(r.source.files[0]!.sha256).toMatch(/^[0-9a-f]{64}$/); // measured, for the results' provenance
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/UNPINNED: no sha256 for aime2025-I\.jsonl, aime2025-II\.jsonl/);
    expect(warnings[0]).toMatch(/quantbench lock-dataset --task aime25/);
  });

  it('warn on stderr by default; pinned sets do not warn', async () => {
    const manifest = await copyFixture('aime25', unpin);
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await loadTask('aime25', { manifest });
      expect(String(write.mock.calls[0]?.[0])).toMatch(/WARNING: dataset manifest .* is UNPINNED/);
      write.mockClear();
      await loadTask('aime25', { fixtures: true });
      expect(write).not.toHaveBeenCalled();
    } finally {
      write.mockRestore();
    }
  });
});
