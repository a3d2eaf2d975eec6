import { datasetInfo, HubApiError, listFiles, modelInfo } from '@huggingface/hub';
import type { HubRepo, RepoFile } from './cache-layout.js';
import { HubError } from './errors.js';

/** Everything a request to the Hub for one repo needs. */
export interface HubContext {
  readonly repo: HubRepo;
  readonly revision: string;
  readonly hubUrl: string;
  readonly token: string | undefined;
  /** Already wrapped by `guardedFetch`. */
  readonly fetch: typeof fetch;
  readonly signal: AbortSignal | undefined;
  /** The repo's gating mode, once known from the repo info. */
  gated?: false | 'auto' | 'manual';
}

const OFFLINE_HINT =
  'If the files are already in the cache, run offline (HF_HUB_OFFLINE=1 or { offline: true }); ' +
  'or pass a local directory holding the files as the repo id';

/** Web page of the repo on the Hub. */
export function repoWebUrl(ctx: Pick<HubContext, 'repo' | 'hubUrl'>): string {
  return `${ctx.hubUrl}/${ctx.repo.type === 'dataset' ? 'datasets/' : ''}${ctx.repo.name}`;
}

/** The `/resolve/` URL huggingface_hub and @huggingface/hub download a file from. */
export function resolveUrl(ctx: Pick<HubContext, 'repo' | 'hubUrl'>, commit: string, path: string): string {
  const encoded = path.split('/').map(encodeURIComponent).join('/');
  return `${repoWebUrl(ctx)}/resolve/${encodeURIComponent(commit)}/${encoded}`;
}

function describeCause(e: unknown): string {
  const cause = e instanceof Error ? (e.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
}

export function networkError(hubUrl: string, e: unknown, what = 'the request'): HubError {
  return new HubError(
    'network',
    `Could not reach the Hugging Face Hub at ${hubUrl}: ${what} failed (${describeCause(e)}). ${OFFLINE_HINT}.`,
    { cause: e },
  );
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

/** fetch with the caller's AbortSignal, turning connection failures into a HubError('network'). */
export function guardedFetch(base: typeof fetch, hubUrl: string, signal: AbortSignal | undefined): typeof fetch {
  return async (input, init) => {
    throwIfAborted(signal);
    const signals = [signal, init?.signal ?? undefined].filter((s): s is AbortSignal => s !== undefined);
    const merged = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    try {
      return await base(input, { ...init, ...(merged ? { signal: merged } : {}) });
    } catch (e) {
      throwIfAborted(signal);
      throw networkError(hubUrl, e);
    }
  };
}

/** What the Hub said about a failed request: status, X-Error-Code and message. */
export interface HttpFailure {
  readonly status: number;
  readonly code?: string | null;
  readonly message?: string;
  /** The file being fetched, for /resolve/ failures. */
  readonly file?: string;
}

export function httpError(ctx: HubContext, f: HttpFailure): HubError {
  const { repo, revision, hubUrl } = ctx;
  const what = `${repo.type} '${repo.name}'`;
  const web = repoWebUrl(ctx);
  const said = f.message ? ` (Hub: ${f.message.replace(/\. URL: .*$/s, '').trim()})` : '';
  const code = f.code ?? '';
  const msg = f.message ?? '';
  const status = f.status;

  if (status === 401 || status === 403) {
    const gated = code === 'GatedRepo' || /gated|restricted|awaiting|access to/i.test(msg) || !!ctx.gated;
    if (gated) {
      return new HubError(
        'gated',
        `${what} is a gated repo: the Hub refused access${f.file ? ` to ${f.file}` : ''} (HTTP ${status})${said}. ` +
          `Request access on the Hub: open ${web} while logged in, accept the conditions and wait for approval. ` +
          `Then create a read token at ${hubUrl}/settings/tokens and set HF_TOKEN=hf_... (or pass { token }). ` +
          (ctx.token
            ? 'A token was sent, so its account has no access yet, or the token lacks read permission.'
            : 'No token was sent (HF_TOKEN is not set).'),
        { status },
      );
    }
    if (code === 'RepoNotFound' || /not found/i.test(msg)) {
      return new HubError(
        'not-found',
        `${what} was not found on the Hub (${hubUrl}), or it is private and needs a token (HTTP ${status})${said}. ` +
          `Check the repo id at ${web}; if it is private, set HF_TOKEN=hf_... to a token with read access to it.`,
        { status },
      );
    }
    return new HubError(
      'unauthorized',
      `The Hub refused access to ${what} (HTTP ${status})${said}. ` +
        (ctx.token
          ? 'Check that HF_TOKEN is a valid token with read access to this repo'
          : 'Set HF_TOKEN=hf_... to a token with read access to this repo') +
        ` (tokens: ${hubUrl}/settings/tokens).`,
      { status },
    );
  }
  if (status === 404) {
    if (code === 'RevisionNotFound' || /\brev(ision)?\b/i.test(msg)) {
      return new HubError(
        'not-found',
        `Revision '${revision}' not found in ${what}${said}: check the branch, tag or commit sha at ${web}.`,
        { status },
      );
    }
    if (f.file && (code === 'EntryNotFound' || /entry/i.test(msg))) {
      return new HubError('not-found', `File '${f.file}' not found in ${what} at revision '${revision}'${said}.`, {
        status,
      });
    }
    const other = repo.type === 'model' ? "a dataset needs type 'dataset'" : "a model needs type 'model'";
    return new HubError(
      'not-found',
      `${what} not found on the Hub (${hubUrl}) (HTTP 404)${said}: check the repo id (Org/Name) and the repo type (${other}).`,
      { status },
    );
  }
  return new HubError(
    'http',
    `The Hub answered HTTP ${status} for ${what}${f.file ? ` file '${f.file}'` : ''} at revision '${revision}'${said}. ` +
      `Try again later. ${OFFLINE_HINT}.`,
    { status },
  );
}

/** Maps the library's HubApiError to a HubError; other errors pass through. */
function translate(ctx: HubContext, e: unknown): unknown {
  if (e instanceof HubApiError) {
    const data = e.data as { error?: unknown } | undefined;
    const message = typeof data?.error === 'string' ? data.error : e.message;
    return Object.assign(httpError(ctx, { status: e.statusCode, message }), { cause: e });
  }
  return e;
}

/** Asks the Hub which commit `ctx.revision` is, and whether the repo is gated (library: modelInfo / datasetInfo). */
export async function resolveCommit(ctx: HubContext): Promise<{ commit: string; gated: false | 'auto' | 'manual' }> {
  const params = {
    name: ctx.repo.name,
    revision: ctx.revision,
    additionalFields: ['sha' as const],
    hubUrl: ctx.hubUrl,
    fetch: ctx.fetch,
    ...(ctx.token ? { accessToken: ctx.token } : {}),
  };
  try {
    const info = ctx.repo.type === 'model' ? await modelInfo(params) : await datasetInfo(params);
    if (typeof info.sha !== 'string' || info.sha === '') {
      throw new HubError('http', `The Hub did not return a commit sha for ${ctx.repo.type} '${ctx.repo.name}' at '${ctx.revision}'.`);
    }
    return { commit: info.sha, gated: info.gated };
  } catch (e) {
    throw translate(ctx, e);
  }
}

/** Every file of the repo at `commit`, with size and the etag it is cached under (library: listFiles on the tree API). */
export async function listRepoFiles(ctx: HubContext, commit: string): Promise<RepoFile[]> {
  const files: RepoFile[] = [];
  try {
    for await (const entry of listFiles({
      repo: ctx.repo,
      recursive: true,
      revision: commit,
      hubUrl: ctx.hubUrl,
      fetch: ctx.fetch,
      ...(ctx.token ? { accessToken: ctx.token } : {}),
    })) {
      if (entry.type !== 'file') continue;
      // huggingface_hub names blobs by X-Linked-Etag (the LFS sha256) or ETag (the git blob oid).
      const etag = entry.lfs?.oid ?? entry.oid ?? entry.xetHash;
      if (!etag) throw new HubError('http', `The Hub listing for '${entry.path}' in ${ctx.repo.name} has no oid.`);
      files.push({
        path: entry.path,
        size: entry.lfs?.size ?? entry.size,
        etag,
        ...(entry.lfs ? { sha256: entry.lfs.oid } : entry.oid ? { gitOid: entry.oid } : {}),
      });
    }
  } catch (e) {
    throw translate(ctx, e);
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
