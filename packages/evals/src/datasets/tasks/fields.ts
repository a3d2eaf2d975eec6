import { DatasetError, redownloadFix } from '../errors.js';
import type { RawRow } from '../readers/index.js';

/** Field access with errors that name the file, row and field. */

export function rowError(r: RawRow, field: string, problem: string, cause?: unknown): DatasetError {
  return new DatasetError('row', problem, { file: r.file, row: r.row, field, fix: redownloadFix(), cause });
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing (the column is missing)';
  if (typeof v === 'string') return v === '' ? 'an empty string' : `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `a ${typeof v}`;
}

/** A non-empty string field (whitespace-only counts as empty). */
export function str(r: RawRow, field: string): string {
  const v = r.data[field];
  if (typeof v !== 'string' || v.trim() === '') throw rowError(r, field, `expected non-empty text, found ${describe(v)}`);
  return v;
}

/** A string field that may be empty (e.g. LiveCodeBench's starter_code for stdin problems). */
export function optStr(r: RawRow, field: string): string {
  const v = r.data[field];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw rowError(r, field, `expected text, found ${describe(v)}`);
  return v;
}

/** A string or integer field as text (parquet int64 columns arrive as bigint). */
export function textOrInt(r: RawRow, field: string): string {
  const v = r.data[field];
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  return str(r, field).trim();
}

export function has(r: RawRow, field: string): boolean {
  return r.data[field] !== undefined && r.data[field] !== null;
}

/** Parses a field holding a JSON string. */
export function jsonField(r: RawRow, field: string): unknown {
  const text = str(r, field);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw rowError(r, field, `expected a JSON string, it does not parse (${e instanceof Error ? e.message : String(e)})`, e);
  }
}
