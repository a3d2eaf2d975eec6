import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compareWithBaseline, describeGateRule, formatGateReport, latestRun, loadRun, makeBaseline, readBaseline, writeBaseline } from '@quantbench/bench';
import { z } from 'zod';
import { defineCommand } from '../command.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export const gateCommand = defineCommand({
  name: 'gate',
  summary: 'compare a bench run with the committed baseline; non-zero exit on a regression',
  help: `Usage: pnpm gate [--run DIR] [--baseline DIR] [--update-baseline [--run DIR ...]] [--verbose]

Compares a bench run (default: the newest reports/runs/*-bench) with the baseline (default reports/baseline/)
and exits 1 with a table when a figure got slower beyond its noise or an accuracy statistic got worse beyond
its tolerance. Only ratios measured within one run are compared, so the baseline holds on other machines:

${describeGateRule()}

Kernel source files whose sha256 differs from the baseline's are listed.

Options:
  --run DIR          the run to check (with --update-baseline: repeatable; the baseline takes the median of the
                     runs and records their spread)
  --baseline DIR     default reports/baseline
  --update-baseline  rewrite the baseline from the run(s), on purpose
  --verbose          list every compared figure, not only the failures and improvements`,
  options: {
    run: { type: 'string', multiple: true },
    baseline: { type: 'string' },
    'update-baseline': { type: 'boolean' },
    verbose: { type: 'boolean' },
  },
  schema: z
    .object({
      run: z.array(z.string().min(1)).optional(),
      baseline: z.string().min(1).default(join(REPO_ROOT, 'reports', 'baseline')),
      'update-baseline': z.boolean().default(false),
      verbose: z.boolean().default(false),
    })
    .refine((input) => input['update-baseline'] || (input.run?.length ?? 0) <= 1, { message: 'only one run is checked at a time (several go with --update-baseline)', path: ['run'] }),
  async run(input) {
    const dirs = input.run?.length ? input.run.map((dir) => resolve(dir)) : [await latestRun(join(REPO_ROOT, 'reports'))];
    const runs = await Promise.all(dirs.map(loadRun));
    const baselineDir = resolve(input.baseline);
    if (input['update-baseline']) {
      const baseline = makeBaseline(runs);
      await writeBaseline(baselineDir, baseline, runs);
      console.log(`baseline: ${baseline.figures.length} figures from ${runs.map((run) => run.runId).join(', ')}\nwritten to ${baselineDir}`);
      return;
    }
    const run = runs[0]!;
    const baseline = await readBaseline(baselineDir);
    const report = compareWithBaseline(run, baseline);
    console.log(`run:      ${run.dir}\nbaseline: ${baselineDir} (${baseline.runs.map((b) => b.runId).join(', ')})\n`);
    console.log(formatGateReport(report, { verbose: input.verbose }));
    if (!report.passed) throw new Error('regression gate failed (table above)');
  },
});
