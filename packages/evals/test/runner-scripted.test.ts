/**
 * The scoring path through the runner with a SCRIPTED LoadedModel: a test double that returns fixed completions
 * (the right answer, or a wrong one for chosen kernels / samples), because the random-weight tiny model never
 * answers correctly and so cannot exercise correct answers, pass@k, deltas or the sandbox's passing path.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine, GenerateRequest, GenerateResult, KernelMode, LoadedModel } from '@quantbench/core';
import { ensureSyntheticCheckpoints, loadTokenizer, type QwenTokenizer } from '@quantbench/model';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultTaskKit, detectSandbox, loadTask, type MathProblem, type Problem, runEval, type TaskName, type ThinkingMode } from '../src/index.js';

let root: string;
let modelDir: string;
let tokenizer: QwenTokenizer;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'qb-scripted-'));
  // Only the tokenizer of this checkpoint is used (the runner counts prompt tokens with it).
  modelDir = (await ensureSyntheticCheckpoints({ preset: 'tiny' })).bf16Dir;
  tokenizer = await loadTokenizer(modelDir);
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

type Script = (request: GenerateRequest, kernel: KernelMode) => string;

/** An engine whose models answer from a script keyed by the last user message. */
function scriptedEngine(script: Script, calls: { requests: number }): Engine {
  return {
    name: 'scripted',
    async capabilities() {
      return { engine: 'scripted', device: 'test double', formats: ['bf16', 'fp8'], kernelModes: ['bf16', 'w8a16', 'w8a8'], maxContext: 1 << 16, maxBatch: 64, logits: false };
    },
    async dispose() {},
    async load(options): Promise<LoadedModel> {
      return {
        kernel: options.kernel,
        modelDir: options.modelDir,
        memory: () => ({ bytesNow: 0, bytesPeak: 0, weightBytes: 0, kvCacheBytes: 0, source: 'none' }),
        async dispose() {},
        async generate(requests) {
          calls.requests += requests.length;
          return requests.map((request, index): GenerateResult => {
            const text = script(request, options.kernel);
            const tokenIds = tokenizer.encode(text);
            return { index, promptTokens: 10, tokenIds, text, finishReason: 'stop', ttftMs: 1, totalMs: 2 + tokenIds.length };
          });
        },
      };
    },
  };
}

/** The reply that answers `problem` correctly, in the task's format. */
function rightAnswer(task: TaskName, problem: Problem, thinking: ThinkingMode): string {
  const think = thinking === 'on' ? '<think>\nLet me work it out step by step.\n</think>\n\n' : '';
  const kit = defaultTaskKit();
  switch (problem.kind) {
    case 'math':
      return `${think}The answer is $\\boxed{${problem.answer}}$.`;
    case 'choice': {
      const prompt = kit.prompt(task, problem, { thinking });
      if (prompt.kind !== 'choice') throw new Error('expected a choice prompt');
      return `${think}{"answer": "${prompt.choice.correctLetter}"}`;
    }
    case 'code':
      throw new Error('code answers are scripted per problem');
  }
}

/** A reply that answers `problem` wrongly: −1 for math, the letter after the right one for choice. */
function wrongAnswer(task: TaskName, problem: Problem, thinking: ThinkingMode): string {
  const think = thinking === 'on' ? '<think>\nhmm\n</think>\n\n' : '';
  if (problem.kind === 'math') return `${think}The answer is $\\boxed{-1}$.`;
  const prompt = defaultTaskKit().prompt(task, problem, { thinking });
  if (prompt.kind !== 'choice') throw new Error('expected a choice prompt');
  const letters = ['A', 'B', 'C', 'D'];
  return `${think}{"answer": "${letters[(letters.indexOf(prompt.choice.correctLetter) + 1) % 4]}"}`;
}

describe('runner scoring path with a scripted LoadedModel (test double: fixed completions)', () => {
  it('scores right and wrong answers, avg@n, pass@k, Δ vs BF16 with the sign test, and thinking on − off', async () => {
    const tasks = new Map<TaskName, Problem[]>();
    for (const task of ['gsm8k', 'gpqa-diamond'] as const) tasks.set(task, (await loadTask(task, { fixtures: true })).problems);
    const byUserMessage = new Map<string, { task: TaskName; problem: Problem; index: number }>();
    const kit = defaultTaskKit();
    for (const [task, problems] of tasks) {
      problems.forEach((problem, index) => {
        for (const thinking of ['on', 'off'] as const) {
          const prompt = kit.prompt(task, problem, { thinking, maxNewTokens: 64 });
          byUserMessage.set(prompt.messages.at(-1)!.content, { task, problem, index });
        }
      });
    }
    // BF16 always right; w8a8 wrong on problem 0 in every sample and on problem 1 in sample seeds that are odd;
    // thinking off is wrong on the last problem.
    const script: Script = (request, kernel) => {
      const hit = byUserMessage.get(request.messages.at(-1)!.content)!;
      const thinking: ThinkingMode = request.thinking ? 'on' : 'off';
      const last = hit.index === tasks.get(hit.task)!.length - 1;
      const wrong = (kernel === 'w8a8' && (hit.index === 0 || (hit.index === 1 && request.seed % 2 === 1))) || (thinking === 'off' && last);
      return wrong ? wrongAnswer(hit.task, hit.problem, thinking) : rightAnswer(hit.task, hit.problem, thinking);
    };
    const calls = { requests: 0 };
    const run = await runEval({
      plan: { tasks: ['gsm8k', 'gpqa-diamond'], kernels: ['bf16', 'w8a8'], thinking: ['on', 'off'], samples: 4, maxNewTokens: 64, seed: 3, concurrency: 8, fixtures: true, resamples: 500 },
      models: { bf16Dir: modelDir, fp8Dir: modelDir, synthetic: false },
      engine: scriptedEngine(script, calls),
      kit,
      outDir: join(root, 'run'),
    });
    const gsmProblems = tasks.get('gsm8k')!.length;
    expect(calls.requests).toBe(2 * 2 * 4 * (gsmProblems + tasks.get('gpqa-diamond')!.length));

    const cell = (task: TaskName, kernel: KernelMode, thinking: ThinkingMode) => run.cells.find((c) => c.task === task && c.kernel === kernel && c.thinking === thinking)!;
    expect(cell('gsm8k', 'bf16', 'on').metrics.accuracy.mean).toBe(1);
    expect(cell('gpqa-diamond', 'bf16', 'on').metrics.accuracy.mean).toBe(1);
    const bf16On = cell('gsm8k', 'bf16', 'on').records[0]!;
    expect(bf16On.extracted).toEqual([(tasks.get('gsm8k')![0] as MathProblem).answer]);
    expect(bf16On.reasoningTokens).toBeGreaterThan(0);
    expect(bf16On.answerTokens).toBeGreaterThan(0);
    expect(cell('gsm8k', 'bf16', 'off').records[0]!.reasoningTokens).toBe(0);

    // w8a8, thinking on: problem 0 always wrong, problem 1 wrong in the odd-seed samples.
    const w8a8 = cell('gsm8k', 'w8a8', 'on');
    const oddSamples = w8a8.records.filter((r) => r.problemId === tasks.get('gsm8k')![1]!.id && r.seed % 2 === 1).length;
    const expectedAccuracy = (0 + (4 - oddSamples) / 4 + (gsmProblems - 2)) / gsmProblems;
    expect(w8a8.metrics.accuracy.mean).toBeCloseTo(expectedAccuracy, 12);
    expect(w8a8.metrics.passAtK.map((p) => p.k)).toEqual([2, 4]);
    // pass@4 counts problem 1 as solved whenever one of its 4 samples is right.
    expect(w8a8.metrics.passAtK[1]!.interval.mean).toBeCloseTo((gsmProblems - 1 - (oddSamples === 4 ? 1 : 0)) / gsmProblems, 12);

    const vsBf16 = run.deltas.find((d) => d.kind === 'vs-bf16' && d.task === 'gsm8k' && d.thinking === 'on')!;
    expect(vsBf16.delta.delta.mean).toBeCloseTo(expectedAccuracy - 1, 12);
    expect(vsBf16.delta.test).toBe('sign-test');
    expect(vsBf16.delta.worse).toBe(oddSamples > 0 ? 2 : 1);
    expect(vsBf16.delta.better).toBe(0);
    const thinking = run.deltas.find((d) => d.kind === 'thinking' && d.task === 'gpqa-diamond' && d.kernel === 'bf16')!;
    expect(thinking.delta.delta.mean).toBeCloseTo(1 / tasks.get('gpqa-diamond')!.length, 12);

    const rows = run.rows.filter((r) => r.task === 'gsm8k' && r.kernel === 'w8a8');
    expect(rows.find((r) => r.metric === 'delta-accuracy-vs-bf16-p')!.unit).toContain('sign test');
    expect(rows.find((r) => r.metric === 'pass@4' && r.thinking === 'on')!.value).toBeCloseTo(w8a8.metrics.passAtK[1]!.interval.mean, 12);
    expect(run.summary).not.toContain('SYNTHETIC');
  });

  it('LiveCodeBench: the extracted program runs in the sandbox and each test status is recorded', async (context) => {
    const sandbox = await detectSandbox().catch((error: unknown) => error);
    if (sandbox instanceof Error) context.skip(`no sandbox here: ${sandbox.message}`);
    const problems = (await loadTask('livecodebench', { fixtures: true })).problems;
    const sum = problems.find((p) => p.id === 'livecodebench/abc999_a');
    if (!sum || sum.kind !== 'code') throw new Error('fixture livecodebench/abc999_a is missing');
    const program = 'n = int(input())\nprint(sum(map(int, input().split())))';
    const script: Script = (request) =>
      request.messages.at(-1)!.content.includes(sum.question.trim().slice(0, 40)) ? `\`\`\`python\n${program}\n\`\`\`` : 'I cannot solve this.';
    const run = await runEval({
      plan: { tasks: ['livecodebench'], kernels: ['bf16'], thinking: ['off'], samples: 1, maxNewTokens: 64, seed: 0, concurrency: 4, fixtures: true, resamples: 100 },
      models: { bf16Dir: modelDir, synthetic: false },
      engine: scriptedEngine(script, { requests: 0 }),
      kit: defaultTaskKit(),
      outDir: join(root, 'lcb'),
    });
    const records = run.cells[0]!.records;
    const solved = records.find((r) => r.problemId === sum.id)!;
    expect(solved.extracted).toEqual([program]);
    expect(solved.tests!.length).toBe(sum.publicTests.length + sum.privateTests.length);
    expect(solved.tests!.every((t) => t.status === 'pass'), JSON.stringify(solved.tests)).toBe(true);
    expect(solved.correct).toBe(true);
    for (const other of records.filter((r) => r.problemId !== sum.id)) {
      expect(other).toMatchObject({ correct: false, extracted: [], tests: [] });
    }
    const line = (await readFile(run.cells[0]!.file, 'utf8')).split('\n').find((l) => l.includes(sum.id))!;
    const stored = JSON.parse(line) as { correct: boolean; tests: { set: string; index: number; status: string }[] };
    expect(stored.correct).toBe(true);
    expect(stored.tests[0]).toMatchObject({ set: 'public', index: 0, status: 'pass' });
    expect(stored.tests.filter((t) => t.set === 'private')).toHaveLength(sum.privateTests.length);
  });
});
