import type { DownloadProgress } from './types.js';

/** `1.2 GB`, `85 MB`, `512 B` (decimal units, as the Hub shows sizes). */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = Math.max(0, n);
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  if (u === 0) return `${Math.round(v)} B`;
  // 9.96 would print as "10.0": round first, then pick the precision.
  const digits = Math.round(v * 10) / 10 < 10 ? 1 : 0;
  return `${v.toFixed(digits)} ${units[u]}`;
}

/** `45s`, `1m20s`, `2h05m`, `--` when unknown. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '--';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `model.safetensors  1.2 GB / 8.0 GB  85 MB/s  ETA 1m20s` (overall bytes of this call). */
export function formatProgress(p: DownloadProgress): string {
  return `${p.file}  ${formatBytes(p.bytes)} / ${formatBytes(p.total)}  ${formatBytes(p.bytesPerSecond)}/s  ETA ${formatDuration(p.etaSeconds)}`;
}

/**
 * Turns byte counts into throttled DownloadProgress events. The rate is measured over a sliding window of recent
 * transfers (bytes resumed from disk count towards `bytes` but not towards the rate).
 */
export class ProgressTracker {
  private done = 0; // bytes of finished files
  private file = '';
  private fileBytes = 0;
  private fileTotal = 0;
  private transferred = 0;
  private finished = false; // the current file is complete (and counted in `done`)
  private lastEmit = -Infinity;
  private readonly samples: { t: number; n: number }[] = [];

  constructor(
    private readonly total: number,
    private readonly onProgress: ((p: DownloadProgress) => void) | undefined,
    private readonly options: { intervalMs?: number; windowMs?: number; now?: () => number } = {},
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  startFile(file: string, fileTotal: number, fileBytes: number): void {
    this.file = file;
    this.finished = false;
    this.fileTotal = fileTotal;
    this.fileBytes = fileBytes;
    this.emit(false);
  }

  /** The current file now has `fileBytes` on disk, `transferred` of them just received. */
  update(fileBytes: number, transferred: number): void {
    this.fileBytes = fileBytes;
    this.transferred += transferred;
    this.emit(false);
  }

  finishFile(): void {
    this.done += this.fileTotal;
    this.fileBytes = 0;
    this.finished = true;
    this.emit(true);
  }

  snapshot(): DownloadProgress {
    const t = this.now();
    this.sample(t);
    const first = this.samples[0] as { t: number; n: number };
    const dt = (t - first.t) / 1000;
    const bytesPerSecond = dt > 0 ? (this.transferred - first.n) / dt : 0;
    const bytes = Math.min(this.total, this.done + this.fileBytes);
    const left = this.total - bytes;
    return {
      file: this.file,
      fileBytes: this.finished ? this.fileTotal : this.fileBytes,
      fileTotal: this.fileTotal,
      bytes,
      total: this.total,
      bytesPerSecond,
      etaSeconds: left === 0 ? 0 : bytesPerSecond > 0 ? left / bytesPerSecond : null,
    };
  }

  /** Keeps (time, transferred) samples at most every 100 ms, dropping those older than the window. */
  private sample(t: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last === undefined || t - last.t >= 100) this.samples.push({ t, n: this.transferred });
    const windowMs = this.options.windowMs ?? 5000;
    while (this.samples.length > 2 && (this.samples[1] as { t: number }).t <= t - windowMs) this.samples.shift();
  }

  private emit(force: boolean): void {
    const t = this.now();
    if (!force) this.sample(t);
    if (!this.onProgress || (!force && t - this.lastEmit < (this.options.intervalMs ?? 250))) return;
    this.lastEmit = t;
    this.onProgress(this.snapshot());
  }
}
