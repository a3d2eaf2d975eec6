import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DecodeInput, LogitsModel, LogitsWanted, ResultRow } from '@quantbench/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareLogits, createRunReport, describeEnvironment, formatComparison, makeRunId, readPromptFile } from '../src/index.js';

/** A LogitsModel whose logits at position p are a fixed function of (token, p), optionally perturbed. */
function fakeModel(vocabSize: number, perturb: number): LogitsModel {
  const lengths = [0];
  const rowFor = (token: number, position: number): Float32Array =>
    Float32Array.from({ length: vocabSize }, (_, v) => Math.sin(token * 0.7 + v * 1.3 + position) * 3 + (v === (token + 1) % vocabSize ? 4 : 0) + perturb * Math.cos(v * 2.1 + token));
  return {
    vocabSize,
    maxContext: 64,
    maxBatch: 1,
    length: (s) => lengths[s]!,
    reset: (s) => {
      lengths[s] = 0;
    },
    async prefill(s: number, tokens: Int32Array, wanted: LogitsWanted) {
      const rows = [...tokens].map((token, i) => rowFor(token, lengths[s]! + i));
      lengths[s]! += tokens.length;
      const picked = wanted === 'all' ? rows : wanted === 'last' ? rows.slice(-1) : [];
      const out = new Float32Array(picked.length * vocabSize);
      picked.forEach((row, i) => out.set(row, i * vocabSize));
      return out;
    },
    async decode(_inputs: readonly DecodeInput[]) {
      throw new Error('not used');
    },
  };
}

describe('compareLogits', () => {
  it('finds no difference between a model and itself', async () => {
    const summary = await compareLogits(fakeModel(50, 0), fakeModel(50, 0), [Int32Array.from([1, 2, 3, 4]), Int32Array.from([7, 8, 9])]);
    expect(summary.positions).toBe(5);
    expect(summary.kl.max).toBe(0);
    expect(summary.top1Agreement.rate).toBe(1);
    expect(summary.relL2).toBe(0);
    expect(summary.deltaP?.rms).toBe(0);
  });

  it('grows with the perturbation, and formats every statistic', async () => {
    const prompts = [Int32Array.from([1, 2, 3, 4, 5, 6])];
    const small = await compareLogits(fakeModel(50, 0), fakeModel(50, 0.1), prompts);
    const large = await compareLogits(fakeModel(50, 0), fakeModel(50, 1), prompts);
    expect(small.kl.mean).toBeGreaterThan(0);
    expect(large.kl.mean).toBeGreaterThan(small.kl.mean);
    const text = formatComparison(large);
    for (const label of ['mean KL divergence', '99th pct KL', 'max KL', 'same top token', 'RMS Δp', 'max |Δlogit|', 'relative L2']) expect(text).toContain(label);
  });

  it('refuses mismatched vocabularies and one-token prompts', async () => {
    await expect(compareLogits(fakeModel(50, 0), fakeModel(51, 0), [Int32Array.from([1, 2])])).rejects.toThrow(/vocabularies differ/);
    await expect(compareLogits(fakeModel(50, 0), fakeModel(50, 0), [Int32Array.from([1])])).rejects.toThrow(/prompt 0: needs at least 2 tokens/);
  });
});

describe('prompt files and run reports', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qb-bench-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads .txt and .jsonl prompt files and names a bad line', async () => {
    await writeFile(join(dir, 'p.txt'), 'one\n\ntwo\\nlines\n');
    expect(await readPromptFile(join(dir, 'p.txt'))).toEqual(['one', 'two\nlines']);
    await writeFile(join(dir, 'p.jsonl'), '{"text": "a"}\n{"txt": "b"}\n');
    await expect(readPromptFile(join(dir, 'p.jsonl'))).rejects.toThrow(/p\.jsonl:2: expected \{"text"/);
    await writeFile(join(dir, 'q.jsonl'), '{"text": "a"\n');
    await expect(readPromptFile(join(dir, 'q.jsonl'))).rejects.toThrow(/q\.jsonl:1: not valid JSON/);
  });

  it('writes results.json, results.csv and env.json, validating every row', async () => {
    const report = await createRunReport({ reportsDir: dir, name: 'test', environment: describeEnvironment({ adapter: 'none' }) });
    expect(report.runId).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-.+-test$/);
    const row: ResultRow = { runId: report.runId, commit: 'abc', engine: 'cpu', device: 'CPU', format: 'fp8', kernel: 'w8a8', thinking: 'n/a', task: 'tiny/decode-b1', metric: 'decode_tokens_per_s', value: 12.5, unit: 'tokens/s', n: 16, ciLow: 12, ciHigh: 13, seed: null };
    await report.add([row]);
    const json = JSON.parse(await readFile(join(report.dir, 'results.json'), 'utf8'));
    expect(json.schemaVersion).toBe(1);
    expect(json.rows).toEqual([row]);
    const csv = await readFile(join(report.dir, 'results.csv'), 'utf8');
    expect(csv.split('\n')[0]).toBe('runId,commit,engine,device,format,kernel,thinking,task,metric,value,unit,n,ciLow,ciHigh,seed');
    expect(csv).toContain('decode_tokens_per_s,12.5,tokens/s,16,12,13,');
    const env = JSON.parse(await readFile(join(report.dir, 'env.json'), 'utf8'));
    expect(env.machine.cores).toBeGreaterThan(0);
    expect(env.extra.adapter).toBe('none');
    await expect(report.add([{ ...row, kernel: 'int4' as never }])).rejects.toThrow();
  });

  it('makes sortable run ids', () => {
    expect(makeRunId('abc1234', 'x', new Date('2026-11-30T01:02:03.456Z'))).toBe('2026-11-30T01-02-03Z-abc1234-x');
  });
});
