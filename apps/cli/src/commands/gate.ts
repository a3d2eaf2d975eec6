import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeGateRule, formatAbGateReport, readPointer, resolveCommit, runAbGate, writeGateRun, writePointer } from '@quantbench/bench';
import { ENGINE_NAMES, engineStatuses } from '@quantbench/engines';
import { ensureSyntheticCheckpoints } from '@quantbench/model';
import { z } from 'zod';
import { defineCommand, enumList } from '../command.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const DEFAULT_PROMPTS = join(REPO_ROOT, 'datasets/fixtures/logit-prompts.jsonl');

export const gateCommand = defineCommand({
  name: 'gate',
  summary: 'A/B regression gate: the base commit and this tree benchmarked side by side here; non-zero exit on a regression',
  help: `Usage: pnpm gate [--base REF] [--unchanged skip|control] [--budget SECONDS] [--engines LIST] [--only TEXT,...] [--verbose]
       pnpm gate --update-baseline [--base REF] [--run DIR]

Checks the base commit (default: the accepted one, reports/baseline/baseline.json) out in a git worktree, installs
it from its lockfile, and benchmarks it and this working tree in one job on this machine, interleaved: a worker
process per tree, pairs of single kernel or engine calls side by side in alternating order, in rounds of fresh
processes, until every figure is decided or the budget ends. Both trees measure the same synthetic checkpoint.
Figures whose compiled sources (the kernel with everything it imports or includes, and its generated WGSL) are the
same in both trees are skipped, or measured as controls with --unchanged control.

${describeGateRule()}

Writes reports/runs/<time>-<commit>-gate/ (results.json, gate.json, gate.md, env.json) and prints the table.

Options:
  --base REF           the commit to compare with (default: the baseline pointer)
  --unchanged POLICY   skip (default) or control: measure unchanged figures too, as controls
  --budget SECONDS     stop starting new figures after this long (default 1200); undecided ones are listed
  --engines LIST       only these engines (default: every engine that runs here)
  --only TEXT,...      only figures whose key contains one of these (e.g. 'kernel|cpu|gemv-b1 k_proj')
  --verbose            also list the skipped figures
  --out DIR            reports directory (default: reports/; its baseline/ holds the pointer)
  --update-baseline    point reports/baseline at --base (default HEAD), with --run DIR (a bench run made at that
                       commit) copied there for history
  --test-slowdown S    tests of the gate only: NAME=FACTOR,... makes those kernel cases do FACTOR times their work
                       (a larger shape under the same name) in the candidate`,
  options: {
    base: { type: 'string' },
    unchanged: { type: 'string' },
    budget: { type: 'string' },
    engines: { type: 'string' },
    only: { type: 'string' },
    verbose: { type: 'boolean' },
    'update-baseline': { type: 'boolean' },
    run: { type: 'string' },
    out: { type: 'string' },
    'test-slowdown': { type: 'string' },
  },
  schema: z
    .object({
      base: z.string().min(1).optional(),
      unchanged: z.enum(['skip', 'control']).default('skip'),
      budget: z.coerce.number().positive('a positive number of seconds').default(1200),
      engines: enumList(ENGINE_NAMES, { invalid: `expected engine names from ${ENGINE_NAMES.join(', ')}` }).optional(),
      only: z
        .string()
        .transform((text) => text.split(',').map((part) => part.trim()).filter(Boolean))
        .optional(),
      verbose: z.boolean().default(false),
      'update-baseline': z.boolean().default(false),
      run: z.string().min(1).optional(),
      out: z.string().min(1).default(join(REPO_ROOT, 'reports')),
      'test-slowdown': z.string().min(1).optional(),
    })
    .refine((input) => !input.run || input['update-baseline'], { message: '--run goes with --update-baseline', path: ['run'] }),
  async run(input) {
    const baselineDir = join(resolve(input.out), 'baseline');
    if (input['update-baseline']) {
      const commit = await resolveCommit(REPO_ROOT, input.base ?? 'HEAD');
      const run = input.run ? { dir: resolve(input.run), runId: resolve(input.run).split('/').at(-1)! } : undefined;
      await writePointer(baselineDir, commit, run);
      console.log(`baseline: ${commit}${run ? `, with ${run.runId} for history` : ''}\nwritten to ${baselineDir}`);
      return;
    }
    const base = input.base ?? (await readPointer(baselineDir)).commit;
    const started = performance.now();
    const progress = (message: string): void => {
      const seconds = Math.floor((performance.now() - started) / 1000);
      process.stderr.write(`[gate ${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}] ${message}\n`);
    };
    const workerLog: string[] = [];
    const cuda = (await engineStatuses()).find((status) => status.name === 'cuda');
    const model = await ensureSyntheticCheckpoints({ preset: 'tiny', onProgress: progress });
    const report = await runAbGate({
      candidateRoot: REPO_ROOT,
      base,
      bf16Dir: model.bf16Dir,
      fp8Dir: model.fp8Dir,
      promptsFile: DEFAULT_PROMPTS,
      unchanged: input.unchanged,
      budgetMs: input.budget * 1000,
      buildCudaAddon: cuda?.available === true,
      ...(input.engines ? { engines: input.engines } : {}),
      ...(input.only ? { only: input.only } : {}),
      ...(input['test-slowdown'] ? { candidateSlowdown: input['test-slowdown'] } : {}),
      onProgress: progress,
      onWorkerLine: (line) => {
        workerLog.push(line);
        if (process.env.QUANTBENCH_DEBUG) process.stderr.write(`${line}\n`);
      },
    });
    const table = formatAbGateReport(report, { verbose: input.verbose });
    const run = await writeGateRun(resolve(input.out), report, table, workerLog);
    console.log(`${table}\n\nreport: ${run.dir}`);
    if (!report.passed) throw new Error('regression gate failed (table above)');
  },
});
