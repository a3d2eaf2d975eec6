import { z } from 'zod';

/** Which repo to resolve: a Hub repo id (`Org/Name`) or a local directory path. */
export interface RepoSpec {
  readonly type: 'model' | 'dataset';
  /** `Qwen/Qwen3-4B-Thinking-2507`, or a local directory with the files. */
  readonly id: string;
  /** Branch, tag or pinned commit sha. Default `main`. */
  readonly revision?: string;
}

export interface DownloadProgress {
  /** Repo-relative path of the file being downloaded. */
  readonly file: string;
  /** Bytes of `file` on disk so far (including bytes resumed from an earlier run). */
  readonly fileBytes: number;
  readonly fileTotal: number;
  /** Bytes on disk so far over all files this call downloads. */
  readonly bytes: number;
  /** Total size of all files this call downloads (files already cached are not counted). */
  readonly total: number;
  /** Transfer rate over the last few seconds. */
  readonly bytesPerSecond: number;
  /** Seconds left at the current rate; null while the rate is unknown. */
  readonly etaSeconds: number | null;
}

export interface ResolveOptions {
  /** Default: $QUANTBENCH_CACHE, else the HF hub cache ($HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** Resolve from the cache only. Default: HF_HUB_OFFLINE=1. */
  offline?: boolean;
  /** Hub token (`hf_...`). Default: $HF_TOKEN. */
  token?: string;
  /** fnmatch-style filters on repo paths (as huggingface_hub's allow_patterns), e.g. `['*.json', '*.safetensors']`. */
  allowPatterns?: string[];
  /** Called a few times per second while downloading, and once when each file completes. */
  onProgress?: (p: DownloadProgress) => void;
  /** Default: $HF_ENDPOINT, else https://huggingface.co. */
  hubUrl?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /**
   * Ask the Hub again which commit a branch/tag points to even when a complete snapshot for it is cached.
   * Default false: a complete cached snapshot is used without any network request.
   */
  refresh?: boolean;
}

export interface ResolvedRepo {
  /** Directory holding the repo files (the snapshot directory, or the local directory as given). */
  readonly dir: string;
  readonly source: 'local' | 'cache' | 'download';
  readonly id: string;
  readonly revision?: string;
  /** The commit the files come from (absent for a local directory). */
  readonly commit?: string;
  /** Repo-relative paths of the (matching) files in `dir`, sorted. */
  readonly files: string[];
}

export const repoSpecSchema = z.object({
  type: z.enum(['model', 'dataset']),
  id: z.string().trim().min(1, 'repo id must not be empty'),
  revision: z
    .string()
    .min(1, 'revision must not be empty (omit it for main)')
    .refine((r) => !r.split('/').some((s) => s === '..' || s === '.' || s === ''), 'revision must be a branch, tag or commit sha')
    .optional(),
});

export const resolveOptionsSchema = z.object({
  cacheDir: z.string().min(1).optional(),
  offline: z.boolean().optional(),
  token: z
    .string()
    .refine((t) => t.startsWith('hf_'), 'a Hugging Face token starts with "hf_" (see https://huggingface.co/settings/tokens)')
    .optional(),
  allowPatterns: z
    .array(z.string().min(1))
    .min(1, 'allowPatterns must not be empty: omit it to get every file')
    .optional(),
  onProgress: z.custom<(p: DownloadProgress) => void>((v) => typeof v === 'function').optional(),
  hubUrl: z.url().optional(),
  fetch: z.custom<typeof fetch>((v) => typeof v === 'function').optional(),
  signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal).optional(),
  refresh: z.boolean().optional(),
});

/** A Hub repo id: `name` or `org/name`. */
export const HUB_REPO_ID = /^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/;
