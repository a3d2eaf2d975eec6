import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import Papa from 'papaparse';
import { DatasetError, redownloadFix } from '../errors.js';

/**
 * Readers for the formats the sources ship, each yielding the file's rows as plain records with their 1-based row
 * number: parquet (hyparquet, every codec through hyparquet-compressors), jsonl (streamed line by line, so multi-GB
 * files such as LiveCodeBench's never sit in memory as one string) and CSV (papaparse: quoted fields with commas,
 * quotes and newlines, as GPQA's).
 */
export type ReaderKind = 'parquet' | 'jsonl' | 'csv';

export interface RawRow {
  /** The file as it should be named in errors (repo-relative path). */
  readonly file: string;
  /** 1-based: parquet/CSV the data row (CSV header not counted), jsonl the line number. */
  readonly row: number;
  readonly data: Readonly<Record<string, unknown>>;
}

export function readRows(kind: ReaderKind, path: string, name: string): AsyncIterable<RawRow> {
  switch (kind) {
    case 'parquet':
      return readParquet(path, name);
    case 'jsonl':
      return readJsonl(path, name);
    case 'csv':
      return readCsv(path, name);
  }
}

function formatError(name: string, problem: string, cause?: unknown, row?: number): DatasetError {
  return new DatasetError('format', problem, { file: name, ...(row !== undefined ? { row } : {}), fix: redownloadFix(), cause });
}

export async function* readParquet(path: string, name: string): AsyncIterable<RawRow> {
  const buf = await readFile(path);
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  let rows: Record<string, unknown>[];
  let declared: number;
  try {
    declared = Number(parquetMetadata(file).num_rows);
    rows = await parquetReadObjects({ file, compressors });
  } catch (e) {
    throw formatError(name, `not a readable parquet file (${e instanceof Error ? e.message : String(e)})`, e);
  }
  if (rows.length !== declared) {
    throw formatError(name, `the parquet footer declares ${declared} rows but ${rows.length} were decoded`);
  }
  for (const [i, data] of rows.entries()) yield { file: name, row: i + 1, data };
}

export async function* readJsonl(path: string, name: string): AsyncIterable<RawRow> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    const t = line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    if (t.trim() === '') continue;
    let data: unknown;
    try {
      data = JSON.parse(t);
    } catch (e) {
      throw new DatasetError('row', `line is not valid JSON (${e instanceof Error ? e.message : String(e)})`, { file: name, row: line, fix: redownloadFix(), cause: e });
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw new DatasetError('row', `expected a JSON object per line, got ${Array.isArray(data) ? 'an array' : typeof data}`, { file: name, row: line, fix: redownloadFix() });
    }
    yield { file: name, row: line, data: data as Record<string, unknown> };
  }
}

export async function* readCsv(path: string, name: string): AsyncIterable<RawRow> {
  let text = await readFile(path, 'utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const parsed = Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: 'greedy', dynamicTyping: false });
  const first = parsed.errors[0];
  if (first) {
    const row = first.row !== undefined ? first.row + 1 : undefined;
    throw formatError(name, `malformed CSV (${first.code}: ${first.message})${parsed.errors.length > 1 ? `, and ${parsed.errors.length - 1} more problem(s)` : ''}`, undefined, row);
  }
  for (const [i, data] of parsed.data.entries()) yield { file: name, row: i + 1, data };
}
