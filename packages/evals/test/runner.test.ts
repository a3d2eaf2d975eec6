/**
 * The runner on the fixture sets with the real CPU engine and the tiny synthetic checkpoint (random weights, so the
 * accuracies are ~0; these tests check the pipeline: JSONL, resume, torn lines, changed prompts, report files).
 */
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Engine, parseResultsFile } from '@quantbench/core';
import { createCpuEngine } from '@quantbench/engine-cpu';
import { ensureSyntheticCheckpoints } from '@quantbench/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultTaskKit, type EvalPlan, type EvalRun, readSampleFile, runEval, type SampleRecord } from '../src/index.js';
import { countingEngine, type Counter, newCounter } from './runner-helpers.js';

let root: string;
let engine: Engine;
let models: { bf16Dir: string; fp8Dir: string; synthetic: true };

const PLAN: EvalPlan = {
  tasks: ['gsm8k', 'gpqa-diamond'],
  kernels: ['bf16', 'w8a8'],
  thinking: ['on', 'off'],
  samples: 1,
  limit: 2,
  maxNewTokens: 3,
  seed: 0,
  concurrency: 4,
  fixtures: true,
  resamples: 200,
};

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'qb-runner-'));
  const dirs = await ensureSyntheticCheckpoints({ preset: 'tiny' });
  models = { bf16Dir: dirs.bf16Dir, fp8Dir: dirs.fp8Dir, synthetic: true };
  engine = await createCpuEngine();
});

afterAll(async () => {
  await engine?.dispose();
  if (root) await rm(root, { recursive: true, force: true });
});

async function lines(path: string): Promise<string[]> {
  return (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '');
}

describe('runEval on fixtures, CPU engine, tiny synthetic model', () => {
  const out = () => join(root, 'run');
  let first: EvalRun;
  let firstRecords: Map<string, SampleRecord>;

  it('writes one JSONL per cell, tidy rows, env.json and a summary that says the model is synthetic', async () => {
    const counter = newCounter();
    first = await runEval({ plan: PLAN, models, engine: countingEngine(engine, counter), kit: defaultTaskKit(), outDir: out() });
    // 2 tasks × 2 kernels × 2 thinking modes × 2 problems × 1 sample, each model loaded once.
    expect(counter).toMatchObject({ loads: 2, requests: 16 });
    expect(first.cells).toHaveLength(8);
    firstRecords = new Map();
    for (const cell of first.cells) {
      const text = await lines(cell.file);
      expect(text).toHaveLength(2);
      for (const record of cell.records) {
        expect(record).toMatchObject({ task: cell.task, kernel: cell.kernel, thinking: cell.thinking, maxNewTokens: 3 });
        expect(record.reasoningTokens + record.answerTokens).toBeLessThanOrEqual(3);
        expect(record.promptHash).toMatch(/^[0-9a-f]{64}$/);
        expect(record.truncated).toBe(record.finishReason === 'length' || record.truncated);
        firstRecords.set(`${cell.file}|${record.problemId}`, record);
      }
      if (cell.thinking === 'off') for (const r of cell.records) expect(r.reasoningTokens).toBe(0);
    }
    // The same problem and sample index has the same seed in every cell (pairs differ only by kernel / mode).
    const seeds = new Set(first.cells.flatMap((c) => c.records.filter((r) => r.problemId === 'gsm8k/test/0').map((r) => r.seed)));
    expect(seeds.size).toBe(1);

    const results = parseResultsFile(JSON.parse(await readFile(join(out(), 'results.json'), 'utf8')), 'results.json');
    const metrics = results.rows.map((r) => r.metric);
    expect(metrics.filter((m) => m === 'accuracy')).toHaveLength(8);
    expect(metrics.filter((m) => m === 'delta-accuracy-vs-bf16')).toHaveLength(4);
    expect(metrics.filter((m) => m === 'delta-accuracy-thinking-on-vs-off')).toHaveLength(4);
    const accuracy = results.rows.find((r) => r.metric === 'accuracy')!;
    expect(accuracy).toMatchObject({ engine: 'cpu', n: 2, seed: 0 });
    expect(accuracy.ciLow).not.toBeNull();
    const pRow = results.rows.find((r) => r.metric === 'delta-accuracy-vs-bf16-p')!;
    expect(pRow.unit).toContain('McNemar exact');
    const csv = await lines(join(out(), 'results.csv'));
    expect(csv[0]).toBe('runId,commit,engine,device,format,kernel,thinking,task,metric,value,unit,n,ciLow,ciHigh,seed');
    expect(csv).toHaveLength(results.rows.length + 1);
    const env = JSON.parse(await readFile(join(out(), 'env.json'), 'utf8')) as { runId: string; extra: { synthetic: boolean; bootstrap: { resamples: number } } };
    expect(env.runId).toBe(first.runId);
    expect(env.extra).toMatchObject({ synthetic: true, bootstrap: { resamples: 200 } });
    expect(first.summary).toMatch(/^\|Task\s*\|Mode\s*\|Kernel\s*\|Metric\s*\|\s*Value\|\s*±\|\s*n\|/);
    expect(first.summary).toContain('SYNTHETIC');
    expect(await readFile(join(out(), 'summary.md'), 'utf8')).toContain('SYNTHETIC');
  });

  it('resumes: a finished run generates nothing and loads no model', async () => {
    const counter = newCounter();
    const again = await runEval({ plan: PLAN, models, engine: countingEngine(engine, counter), kit: defaultTaskKit(), outDir: out() });
    expect(counter).toMatchObject({ loads: 0, requests: 0 });
    expect(again.runId).toBe(first.runId);
    expect(again.rows.map((r) => [r.metric, r.value])).toEqual(first.rows.map((r) => [r.metric, r.value]));
  });

  it('after a kill mid-run (a torn last line, a lost line) regenerates only the missing samples, reproducibly', async () => {
    const torn = first.cells.find((c) => c.task === 'gsm8k' && c.kernel === 'w8a8' && c.thinking === 'on')!.file;
    const lost = first.cells.find((c) => c.task === 'gpqa-diamond' && c.kernel === 'w8a8' && c.thinking === 'off')!.file;
    const [tornFirst, tornSecond] = await lines(torn);
    await writeFile(torn, `${tornFirst}\n${tornSecond!.slice(0, 40)}`); // killed while writing line 2
    const [lostFirst] = await lines(lost);
    await writeFile(lost, `${lostFirst}\n`); // killed before line 2 was written
    expect((await readSampleFile(torn)).torn).toBe(true);

    const counter = newCounter();
    const resumed = await runEval({ plan: PLAN, models, engine: countingEngine(engine, counter), kit: defaultTaskKit(), outDir: out() });
    // Only the w8a8 model is loaded, and only the two missing samples are generated.
    expect(counter).toMatchObject({ loads: 1, requests: 2 });
    for (const cell of resumed.cells) {
      const text = await lines(cell.file);
      expect(text).toHaveLength(2); // no duplicates, the torn line is gone
      const ids = text.map((l) => (JSON.parse(l) as SampleRecord).problemId);
      expect(new Set(ids).size).toBe(2);
      // A sample's seed alone fixes it: the regenerated samples equal the originals, though batched differently.
      for (const record of cell.records) {
        const before = firstRecords.get(`${cell.file}|${record.problemId}`)!;
        expect({ completion: record.completion, seed: record.seed, promptHash: record.promptHash }).toEqual({
          completion: before.completion,
          seed: before.seed,
          promptHash: before.promptHash,
        });
      }
    }
    expect(resumed.rows.map((r) => [r.metric, r.n])).toEqual(first.rows.map((r) => [r.metric, r.n]));
  });

  it('a changed prompt (here --max-new-tokens) is an error explaining why, before any model loads', async () => {
    const counter: Counter = newCounter();
    await expect(runEval({ plan: { ...PLAN, maxNewTokens: 5 }, models, engine: countingEngine(engine, counter), kit: defaultTaskKit(), outDir: out() })).rejects.toThrow(
      /prompt hash .* but the prompt now hashes to .*max new tokens 3 then, 5 now.*Rerun with the original options, or with a new --out/s,
    );
    await expect(runEval({ plan: { ...PLAN, seed: 1 }, models, engine: countingEngine(engine, counter), kit: defaultTaskKit(), outDir: out() })).rejects.toThrow(
      /generated with seed .* but --seed now gives/,
    );
    expect(counter).toMatchObject({ loads: 0, requests: 0 });
  });
});

describe('sample JSONL files', () => {
  const record = (problemId: string): SampleRecord => ({
    v: 1,
    task: 'gsm8k',
    kernel: 'bf16',
    thinking: 'off',
    problemId,
    sampleIndex: 0,
    seed: 1,
    promptHash: 'h',
    maxNewTokens: 4,
    promptTokens: 10,
    completion: 'x',
    reasoningTokens: 0,
    answerTokens: 1,
    finishReason: 'length',
    extracted: [],
    correct: false,
    truncated: true,
    timings: { ttftMs: 1, totalMs: 2, batchId: 'b', batchWallMs: 2, batchSize: 1, scoreMs: 0 },
    finishedAt: new Date(0).toISOString(),
  });

  it('tolerates a torn last line (no newline, or half a JSON object) and reports its offset', async () => {
    const path = join(root, 'torn.jsonl');
    const good = `${JSON.stringify(record('a'))}\n${JSON.stringify(record('b'))}\n`;
    await writeFile(path, `${good}{"v":1,"task":"gs`);
    const read = await readSampleFile(path);
    expect(read.records.map((r) => r.problemId)).toEqual(['a', 'b']);
    expect(read).toMatchObject({ torn: true, validBytes: Buffer.byteLength(good) });
    await writeFile(path, `${good}{"v":1,"task":\n`);
    expect(await readSampleFile(path)).toMatchObject({ torn: true, validBytes: Buffer.byteLength(good) });
    await truncate(path, Buffer.byteLength(good));
    expect(await readSampleFile(path)).toMatchObject({ torn: false });
    expect((await readSampleFile(join(root, 'missing.jsonl'))).records).toEqual([]);
  });

  it('a bad line before the last is corruption, named by file and line', async () => {
    const path = join(root, 'corrupt.jsonl');
    await writeFile(path, `${JSON.stringify(record('a'))}\nnot json\n${JSON.stringify(record('b'))}\n`);
    await expect(readSampleFile(path)).rejects.toThrow(/corrupt\.jsonl:2: not a sample record/);
  });
});
