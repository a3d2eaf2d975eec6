/**
 * The bench matrix for real, on the CPU engine and the tiny checkpoint, kept small: two kernel modes, three
 * repeats, the k_proj kernels only. A registered engine that cannot run is listed, not crashed on.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchResult, type EngineRegistry, formatBenchTables, runBench } from '@quantbench/bench';
import { parseResultsFile } from '@quantbench/core';
import { loadEngine } from '@quantbench/engines';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quantbench as run } from './run-cli.js';

const quantbench = (...args: string[]) => run(args);

const FIXED_PROMPTS = fileURLToPath(new URL('../../../datasets/fixtures/logit-prompts.jsonl', import.meta.url));
let PROMPTS: string;

/** The CPU engine, and an engine that is registered but cannot run here. */
const registry: EngineRegistry = {
  statuses: async () => [
    { name: 'cpu', available: true, device: 'CPU' },
    { name: 'warp-drive', available: false, reason: 'no warp drive on this machine' },
  ],
  load: (name) => loadEngine(name),
};

let reports: string;
let first: BenchResult;

beforeAll(async () => {
  reports = await mkdtemp(join(tmpdir(), 'qb-bench-'));
  // The first two prompts of the fixed set keep the test short.
  PROMPTS = join(reports, 'prompts.jsonl');
  await writeFile(PROMPTS, (await readFile(FIXED_PROMPTS, 'utf8')).split('\n').slice(0, 2).join('\n'));
  first = await runBench({
    registry,
    kernels: ['bf16', 'w8a8'],
    repeats: 3,
    microbenchOnly: ['k_proj'],
    reportsDir: reports,
    promptsFile: PROMPTS,
    name: 'bench',
  });
});

afterAll(async () => {
  await rm(reports, { recursive: true, force: true });
});

describe('pnpm bench', () => {
  it('writes a schema-valid results.json, results.csv and env.json with kernel source hashes', async () => {
    const results = parseResultsFile(JSON.parse(await readFile(join(first.report.dir, 'results.json'), 'utf8')), 'results.json');
    expect(results.schemaVersion).toBe(1);
    const metrics = new Set(results.rows.map((row) => row.metric));
    for (const metric of ['prefill_tokens_per_s', 'decode_tokens_per_s', 'peak_bytes', 'ttft_ms', 'tpot_ms', 'tokens_generated', 'time_to_answer_ms', 'fraction_of_ceiling', 'ceiling_gb_per_s', 'flop_per_s', 'kl_divergence_mean', 'top1_agreement', 'delta_p_rms']) {
      expect(metrics, metric).toContain(metric);
    }
    expect(results.rows.some((row) => row.task === 'tiny/decode-b4')).toBe(true);
    expect(new Set(results.rows.filter((row) => row.task.startsWith('thinking/')).map((row) => row.thinking))).toEqual(new Set(['on', 'off']));
    const csv = await readFile(join(first.report.dir, 'results.csv'), 'utf8');
    expect(csv.trim().split('\n')).toHaveLength(results.rows.length + 1);
    const env = JSON.parse(await readFile(join(first.report.dir, 'env.json'), 'utf8'));
    const sources = env.extra.kernelSources.cpu as { name: string; file: string; sha256: string }[];
    expect(sources.map((source) => source.file)).toContain('src/kernels/matmul-bf16.ts');
    for (const source of sources) expect(source.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(env.extra.libraries.tinybench).toBeUndefined(); // no repoRoot given
    expect(env.extra.unavailable).toEqual([{ name: 'warp-drive', reason: 'no warp drive on this machine' }]);
  });

  it('lists an engine that cannot run, and prints the llama-bench style table', () => {
    expect(first.unavailable).toEqual([{ name: 'warp-drive', reason: 'no warp drive on this machine' }]);
    const text = formatBenchTables(first.rows, first.unavailable);
    expect(text).toMatch(/\| cpu\s+\| fp8\s+\| w8a8\s+\| tg b4\s+\|\s+[\d.]+ ± [\d.]+ \|\s+[\d.]+ MiB \|/);
    expect(text).toMatch(/gemv-b1 k_proj 1024x2560 w8a8/);
    expect(text).toContain('warp-drive: no warp drive on this machine');
  });

  it('the CLI: bad options exit 2 naming them', async () => {
    const badRepeats = await quantbench('bench', '--repeats', '1', '--engines', 'cpu,warp');
    expect(badRepeats.code).toBe(2);
    expect(badRepeats.stderr).toContain('--repeats');
    expect(badRepeats.stderr).toContain('--engines');
    const unknown = await quantbench('bench', '--fast');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--fast'");
  });
});
