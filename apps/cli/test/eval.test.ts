import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quantbench } from './run-cli.js';

/** Runs `pnpm eval …` as the root script does (`quantbench eval …`), as CI would. */
const evalCli = (...args: string[]) => quantbench(['eval', ...args], { ...process.env, CI: '1' });

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'qb-cli-eval-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('pnpm eval', () => {
  it('names each bad option and exits 2', async () => {
    const run = await evalCli('--task', 'gsm8k,mmlu', '--samples', '0', '--kernels', 'fp4', '--thinking', 'maybe');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--task: expected a comma-separated list of gsm8k, aime24, aime25, gpqa-diamond, livecodebench');
    expect(run.stderr).toContain('--samples: expected a positive integer');
    expect(run.stderr).toContain('--kernels');
    expect(run.stderr).toContain('--thinking');
    expect(run.stderr).toContain("Run 'pnpm quantbench eval --help'");
    const noModel = await evalCli('--task', 'gsm8k');
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toContain('--model: required');
    const noFp8 = await evalCli('--task', 'gsm8k', '--model', 'x', '--kernels', 'bf16,w8a8');
    expect(noFp8.code).toBe(2);
    expect(noFp8.stderr).toContain('--fp8-model: required');
  });

  it('runs the fixtures offline on the synthetic model, says so, and resumes', async () => {
    const out = join(root, 'run');
    const args = ['--fixtures', '--task', 'gsm8k', '--limit', '2', '--max-new-tokens', '2', '--kernels', 'bf16', '--thinking', 'off', '--resamples', '200', '--out', out];
    const run = await evalCli(...args);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('MODEL IS SYNTHETIC');
    expect(run.stdout).toMatch(/\|gsm8k\s*\|think-off\|bf16\s*\|accuracy \(avg@1\)\s*\|\s*0\.0000\|/);
    expect(run.stdout).toContain('2 samples generated, 0 resumed');
    expect(run.stderr).toMatch(/bf16: gsm8k × thinking off: 2\/2 samples, acc 0\.0%/); // plain progress lines when not a TTY
    expect((await readdir(out)).sort()).toEqual(['env.json', 'results.csv', 'results.json', 'samples', 'summary.md']);
    const again = await evalCli(...args);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('0 samples generated, 2 resumed');
  });
});
