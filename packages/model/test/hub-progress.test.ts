import { describe, expect, it } from 'vitest';
import { formatProgress, type DownloadProgress } from '../src/hub/index.js';
import { formatBytes, formatDuration, ProgressTracker } from '../src/hub/progress.js';
import { compilePattern, pathFilter } from '../src/hub/patterns.js';

describe('formatProgress', () => {
  it('formats bytes, rate and ETA', () => {
    const p: DownloadProgress = {
      file: 'model.safetensors',
      fileBytes: 1.2e9,
      fileTotal: 8.0e9,
      bytes: 1.2e9,
      total: 8.0e9,
      bytesPerSecond: 85e6,
      etaSeconds: 80,
    };
    expect(formatProgress(p)).toBe('model.safetensors  1.2 GB / 8.0 GB  85 MB/s  ETA 1m20s');
    expect(formatProgress({ ...p, bytesPerSecond: 0, etaSeconds: null })).toBe('model.safetensors  1.2 GB / 8.0 GB  0 B/s  ETA --');
  });
  it('formats units and durations', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(9_960)).toBe('10 kB');
    expect(formatBytes(300 * 1024)).toBe('307 kB');
    expect(formatDuration(5)).toBe('5s');
    expect(formatDuration(3725)).toBe('1h02m');
  });
});

describe('ProgressTracker', () => {
  it('throttles events, measures the rate and ETA, and always reports file completion', () => {
    let now = 0;
    const events: DownloadProgress[] = [];
    const t = new ProgressTracker(1000, (p) => events.push(p), { intervalMs: 250, now: () => now });
    t.startFile('a.bin', 1000, 200); // 200 bytes resumed from disk: counted, not part of the rate
    for (let i = 1; i <= 8; i++) {
      now += 100;
      t.update(200 + i * 50, 50);
    }
    // 8 updates over 800 ms at 500 B/s; at most one event per 250 ms (plus the first).
    expect(events.length).toBeLessThanOrEqual(5);
    const last = events.at(-1) as DownloadProgress;
    expect(last.bytesPerSecond).toBeCloseTo(500, 0);
    expect(last.etaSeconds).toBeCloseTo((1000 - last.bytes) / 500, 1);
    now += 10;
    t.finishFile();
    expect(events.at(-1)).toMatchObject({ bytes: 1000, total: 1000, fileBytes: 1000, etaSeconds: 0 });
  });
});

describe('allowPatterns', () => {
  it('matches like huggingface_hub (fnmatch on the whole path)', () => {
    const f = pathFilter(['*.json', 'data/', 'model-0000?-of-*.safetensors']);
    expect(f('config.json')).toBe(true);
    expect(f('sub/x.json')).toBe(true);
    expect(f('data/test.parquet')).toBe(true);
    expect(f('model-00001-of-00002.safetensors')).toBe(true);
    expect(f('model.safetensors')).toBe(false);
    expect(f('README.md')).toBe(false);
    expect(compilePattern('[!a]b').test('cb')).toBe(true);
    expect(compilePattern('[!a]b').test('ab')).toBe(false);
    expect(pathFilter(undefined)('anything')).toBe(true);
  });
});
