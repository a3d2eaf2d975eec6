export { resolveRepo } from './resolve.js';
export type { DownloadProgress, RepoSpec, ResolvedRepo, ResolveOptions } from './types.js';
export { formatProgress } from './progress.js';
export { HubError, type HubErrorKind } from './errors.js';
