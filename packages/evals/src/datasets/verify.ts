import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { DatasetError, redownloadFix } from './errors.js';
import type { ManifestFile } from './manifest.js';

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface FileFacts {
  readonly sha256: string;
  readonly size: number;
}

/**
 * Size and sha256 of the file at `path`, checked against the manifest where it pins them. A mismatch is a
 * DatasetError('checksum') naming the file, both values and the cached copy to delete.
 */
export async function verifyFile(file: ManifestFile, path: string, where: string): Promise<FileFacts> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (e) {
    throw new DatasetError('fetch', `the file is missing from ${path}`, { file: where, fix: redownloadFix(path), cause: e });
  }
  if (file.size !== null && size !== file.size) {
    throw new DatasetError('checksum', `size mismatch: the manifest pins ${file.size} bytes, the file at ${path} has ${size}`, {
      file: where,
      fix: redownloadFix(path),
    });
  }
  const sha256 = await sha256File(path);
  if (file.sha256 !== null && sha256 !== file.sha256) {
    throw new DatasetError('checksum', `sha256 mismatch: the manifest pins ${file.sha256}, the file at ${path} has ${sha256}`, {
      file: where,
      fix: redownloadFix(path),
    });
  }
  return { sha256, size };
}
