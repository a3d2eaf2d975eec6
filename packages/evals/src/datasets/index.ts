/**
 * Datasets: manifests (datasets/*.json) that pin each task's source, download and cache through packages/model's
 * Hub code, verification (sha256, size, rows), readers for parquet/jsonl/CSV, and the Problem adapters.
 */
export { loadTask, selectFiles, type DatasetSource, type DateWindow, type LoadedTask, type LoadTaskOptions, type SourceFile } from './load.js';
export { lockManifest, type LockOptions, type LockResult } from './lock.js';
export type { FetchOptions } from './fetch.js';
export {
  defaultDatasetsDir,
  isPinned,
  manifestPath,
  manifestSchema,
  MANIFEST_SCHEMA_ID,
  parseManifest,
  readManifestFile,
  TASK_NAMES,
  writeManifestFile,
  type DatasetManifest,
  type ManifestFile,
  type ManifestSource,
} from './manifest.js';
export { DatasetError, type DatasetErrorKind } from './errors.js';
export { PickleError, unpickleString } from './pickle.js';
export { decodePrivateTests, MAX_PRIVATE_TESTS_BYTES } from './tasks/livecodebench.js';
export { readRows, type RawRow, type ReaderKind } from './readers/index.js';
export { sha256File } from './verify.js';
