/**
 * The error every dataset problem becomes. It names the manifest or file, the row (1-based, as a person counts them)
 * and the field when there is one, says what was expected and what was found, and how to fix it.
 */
export type DatasetErrorKind =
  | 'manifest' // the manifest JSON is missing or invalid
  | 'checksum' // a file's sha256 or size differs from the manifest
  | 'row-count' // a file has more or fewer rows than the manifest says
  | 'row' // a row is malformed (missing/ill-typed field, undecodable test cases)
  | 'format' // the file cannot be parsed at all (not parquet, broken CSV)
  | 'gated' // gated dataset without access (no HF_TOKEN, or 401/403)
  | 'fetch' // any other download/cache failure (wraps the hub's HubError)
  | 'options'; // bad loadTask/lock options

export interface DatasetErrorDetails {
  readonly file?: string;
  /** 1-based row number in the file (data rows, the CSV header not counted). */
  readonly row?: number;
  readonly field?: string;
  readonly fix?: string;
  readonly cause?: unknown;
}

export class DatasetError extends Error {
  readonly file: string | undefined;
  readonly row: number | undefined;
  readonly field: string | undefined;
  readonly fix: string | undefined;

  constructor(
    readonly kind: DatasetErrorKind,
    readonly problem: string,
    details: DatasetErrorDetails = {},
  ) {
    const where = [
      details.file,
      details.row !== undefined ? `row ${details.row}` : undefined,
      details.field !== undefined ? `field '${details.field}'` : undefined,
    ]
      .filter((s) => s !== undefined)
      .join(': ');
    super(`${where ? `${where}: ` : ''}${problem}${details.fix ? `. Fix: ${details.fix}` : ''}`, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'DatasetError';
    this.file = details.file;
    this.row = details.row;
    this.field = details.field;
    this.fix = details.fix;
  }
}

/** What to do when a downloaded file's content is wrong. */
export function redownloadFix(cachedDir?: string): string {
  return (
    'the cached copy is corrupt or the source changed: delete it' +
    (cachedDir ? ` (${cachedDir})` : '') +
    ' and load again online to re-download and verify it against the manifest; if the source itself changed on purpose, ' +
    're-pin the manifest with `pnpm quantbench lock-dataset --task <task>` (lockManifest) and review the diff'
  );
}
