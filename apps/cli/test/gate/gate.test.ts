/**
 * `pnpm gate` for real: this checkout against HEAD checked out beside it, both benchmarked here, interleaved. Run
 * after every other test suite (the `test:gate` task), so the machine is as quiet as a test run gets. Kept to the
 * CPU engine; the slowdowns come from the test-only hook (QUANTBENCH_GATE_SLOWDOWN), which makes a kernel case
 * take FACTOR times as long in the candidate.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseResultsFile } from '@quantbench/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quantbench } from '../run-cli.js';
import { GATE_SMALLEST_CAUGHT_SLOWDOWN } from './power.js';

const run = promisify(execFile);
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const K_PROJ = 'gemv-b1 k_proj 1024x2560 bf16';

let out: string;
const gate = (...args: string[]) => quantbench(['gate', '--base', 'HEAD', '--engines', 'cpu', '--out', out, ...args]);

interface GateJson {
  readonly passed: boolean;
  readonly outcomes: readonly { kind: string; verdict: string; info?: { key: string }; changed?: boolean }[];
}

async function lastGateJson(stdout: string): Promise<GateJson> {
  const dir = /report: (.+)$/m.exec(stdout)?.[1];
  if (!dir) throw new Error(`no report directory in:\n${stdout}`);
  return JSON.parse(await readFile(join(dir, 'gate.json'), 'utf8')) as GateJson;
}

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'qb-gate-'));
});

afterAll(async () => {
  await rm(out, { recursive: true, force: true });
});

describe('pnpm gate --base HEAD', () => {
  it('skips what is unchanged by default, and passes saying so', async () => {
    const result = await gate('--only', `kernel|cpu|${K_PROJ}`);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('gate: PASS');
    expect(result.stdout).toContain('1 unchanged and skipped');
    expect(result.stdout).toContain('kernel source files: the same in both trees');
  });

  it('measures unchanged figures as controls on request: none fails, the rows are in results.json', async () => {
    const result = await gate('--unchanged', 'control', '--only', `kernel|cpu|${K_PROJ},speed|cpu|bf16|decode-b1`);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const report = await lastGateJson(result.stdout);
    const speed = report.outcomes.filter((outcome) => outcome.kind === 'speed');
    expect(speed.map((outcome) => outcome.info!.key).sort()).toEqual([`kernel|cpu|${K_PROJ}`, 'speed|cpu|bf16|decode-b1']);
    for (const outcome of speed) {
      expect(outcome.changed).toBe(false);
      expect(['pass', 'undecided']).toContain(outcome.verdict);
    }
    const dir = /report: (.+)$/m.exec(result.stdout)![1]!;
    const rows = parseResultsFile(JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')), 'results.json').rows;
    expect(rows.filter((row) => row.metric === 'speed_ratio')).toHaveLength(2);
    expect(await readFile(join(dir, 'gate.md'), 'utf8')).toContain('gate: PASS');
  });

  it(`fails a kernel made ${GATE_SMALLEST_CAUGHT_SLOWDOWN}× slower, the smallest slowdown the README says it catches`, async () => {
    const slowed = () => gate('--unchanged', 'control', '--only', `kernel|cpu|${K_PROJ}`, '--test-slowdown', `${K_PROJ}=${GATE_SMALLEST_CAUGHT_SLOWDOWN}`);
    let result = await slowed();
    // The README's figure is "at least 19 of 20 runs" (the miss beside a CPU hog was undecided, not passed): one
    // more run after an undecided one keeps a busy machine's chance of failing this test near 1 in 400, while a
    // gate that passes the slowed kernel fails it at once.
    const verdict = (await lastGateJson(result.stdout)).outcomes.find((outcome) => outcome.info?.key === `kernel|cpu|${K_PROJ}`)?.verdict;
    if (result.code === 0 && verdict === 'undecided') result = await slowed();
    expect(result.code, result.stdout + result.stderr).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`\\| FAIL +\\| cpu +\\| bf16 +\\| ${K_PROJ} \\(control\\)`));
    expect(result.stdout).toContain('gate: FAIL');
    expect(result.stderr).toContain('regression gate failed');
  });

  it('fails every CPU kernel made 3× slower', async () => {
    const result = await gate('--unchanged', 'control', '--only', 'kernel|cpu|', '--test-slowdown', 'gemv-b1=3,gemm-b64=3,attention-decode=3,rms-norm=3');
    expect(result.code, result.stdout + result.stderr).toBe(1);
    const kernels = (await lastGateJson(result.stdout)).outcomes.filter((outcome) => outcome.kind === 'speed' && !outcome.info!.key.includes('|copy '));
    expect(kernels.length).toBeGreaterThanOrEqual(20);
    expect(kernels.filter((outcome) => outcome.verdict !== 'fail').map((outcome) => `${outcome.info!.key}: ${outcome.verdict}`)).toEqual([]);
  });

  it('names a bad base and a bad option', async () => {
    const badBase = await quantbench(['gate', '--base', 'no-such-ref', '--out', out]);
    expect(badBase.code).toBe(1);
    expect(badBase.stderr).toContain("base 'no-such-ref' is not a commit");
    const badPolicy = await quantbench(['gate', '--unchanged', 'sometimes']);
    expect(badPolicy.code).toBe(2);
    expect(badPolicy.stderr).toContain('--unchanged');
  });
});

describe('a kernel deleted in the candidate', () => {
  let tree: string;

  beforeAll(async () => {
    // The candidate: HEAD in a worktree of its own, with the CPU RMSNorm microbenchmark taken out.
    tree = await mkdtemp(join(tmpdir(), 'qb-gate-candidate-'));
    await rm(tree, { recursive: true });
    await run('git', ['worktree', 'add', '--detach', tree, 'HEAD'], { cwd: REPO_ROOT });
    const microbench = join(tree, 'packages/engine-cpu/src/microbench.ts');
    const text = await readFile(microbench, 'utf8');
    if (!text.includes('  cases.push(rmsNormCase(shapes.hiddenSize, options));\n')) throw new Error(`${microbench}: the RMSNorm case moved; update this test`);
    await writeFile(microbench, text.replace('  cases.push(rmsNormCase(shapes.hiddenSize, options));\n', ''));
    await run('pnpm', ['install', '--frozen-lockfile', '--prefer-offline', '--reporter=silent'], { cwd: tree });
  });

  afterAll(async () => {
    await run('git', ['worktree', 'remove', '--force', tree], { cwd: REPO_ROOT });
  });

  const candidateGate = () =>
    run(process.execPath, ['--conditions=@quantbench/source', '--import', 'tsx', 'apps/cli/src/main.ts', 'gate', '--base', 'HEAD', '--engines', 'cpu', '--only', 'kernel|cpu|rms-norm', '--out', out], { cwd: tree, maxBuffer: 2 ** 26 }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );

  it('fails as missing unless reports/baseline/removed.json declares it; declared, it is listed with the reason', async () => {
    const missing = await candidateGate();
    expect(missing.code, missing.stdout).toBe(1);
    expect(missing.stdout).toContain('FAIL missing: kernel|cpu|rms-norm 2560x256');
    await writeFile(join(tree, 'reports/baseline/removed.json'), JSON.stringify({ removed: [{ figure: 'kernel|cpu|rms-norm 2560x256', reason: 'fused into the residual add' }] }));
    const declared = await candidateGate();
    expect(declared.code, declared.stdout).toBe(0);
    expect(declared.stdout).toContain('removed: kernel|cpu|rms-norm 2560x256 — fused into the residual add');
  });
});
