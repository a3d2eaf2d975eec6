/** What went wrong talking to (or instead of) the Hub. File content problems are `ModelFileError`s instead. */
export type HubErrorKind =
  | 'gated' // 401/403 on a gated repo
  | 'unauthorized' // 401/403 otherwise (private repo, bad token)
  | 'not-found' // repo, revision or file does not exist
  | 'network' // the Hub could not be reached / the connection broke
  | 'not-cached' // offline and the cache lacks the repo/revision/files
  | 'no-match' // allowPatterns match none of the repo files
  | 'invalid' // bad input
  | 'http'; // any other HTTP failure

export class HubError extends Error {
  constructor(
    readonly kind: HubErrorKind,
    message: string,
    options: { readonly cause?: unknown; readonly status?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HubError';
    this.status = options.status;
  }
  readonly status: number | undefined;
}
