import { getHFHubCachePath, HUB_URL } from '@huggingface/hub';

/** The cache root: $QUANTBENCH_CACHE, else huggingface_hub's ($HF_HUB_CACHE, $HUGGINGFACE_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub). */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const own = env['QUANTBENCH_CACHE'];
  return own !== undefined && own !== '' ? own : getHFHubCachePath();
}

/** huggingface_hub's truthy env values. */
export function envFlag(value: string | undefined): boolean {
  return value !== undefined && ['1', 'on', 'yes', 'true'].includes(value.trim().toLowerCase());
}

export function defaultOffline(env: NodeJS.ProcessEnv = process.env): boolean {
  return envFlag(env['HF_HUB_OFFLINE']);
}

export function defaultToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const token = env['HF_TOKEN']?.trim();
  return token ? token : undefined;
}

export function defaultHubUrl(env: NodeJS.ProcessEnv = process.env): string {
  const endpoint = env['HF_ENDPOINT']?.trim();
  return (endpoint ? endpoint : HUB_URL).replace(/\/+$/, '');
}
