import { type KernelMode, KERNEL_MODES } from '@quantbench/core';
import { loadEngine } from '@quantbench/engines';
import { createProgress, defaultTaskKit, runEval, TASK_NAMES, type TaskName, type ThinkingMode } from '@quantbench/evals';
import { ensureSyntheticCheckpoints, formatProgress, resolveRepo } from '@quantbench/model';
import { z } from 'zod';
import { defineCommand, enumList, UsageError } from '../command.js';
import { engineName } from '../load-model.js';

const positiveInt = z.coerce.number({ error: 'expected a positive integer' }).int('expected a positive integer').positive('expected a positive integer');

export const evalCommand = defineCommand({
  name: 'eval',
  summary: 'evaluate BF16 vs FP8 on GSM8K, AIME, GPQA-Diamond, LiveCodeBench (resumable)',
  help: `Usage: pnpm eval --task T[,T…] --model DIR|REPO [--fp8-model DIR|REPO] [--kernels K,…] [--thinking on,off]
                 [--engine E] [--samples N] [--limit N] [--max-new-tokens N] [--seed N] [--concurrency N]
                 [--out DIR] [--fixtures] [--name NAME] [--resamples B]
       pnpm eval --fixtures --task gsm8k,gpqa-diamond --limit 3 --max-new-tokens 16     (offline, synthetic model)

Runs every task × kernel mode × thinking mode with n samples per problem, streams each sample to
samples/<task>-<kernel>-thinking-<mode>.jsonl in the run directory (rerun with the same --out to resume),
then prints a summary table and writes results.json / results.csv / env.json / summary.md.

Options:
  --task T,…            ${TASK_NAMES.join(', ')}
  --engine E            engine to run (default cpu)
  --model DIR|REPO      BF16 model directory or Hugging Face repo id (kernel bf16)
  --fp8-model DIR|REPO  FP8 model (kernels w8a16, w8a8)
  --kernels K,…         ${KERNEL_MODES.join(', ')} (default: bf16, plus w8a16,w8a8 with --fp8-model)
  --thinking on,off     thinking modes (default on,off)
  --samples N           samples per problem (default 1); accuracy is avg@N, pass@k for k ≤ N
  --limit N             first N problems of each task
  --max-new-tokens N    overrides the Qwen card defaults (32768 thinking, 38912 AIME/LCB thinking, 16384 off)
  --seed N              run seed (default 0): sample seeds and the bootstrap derive from it
  --concurrency N       most sequences in flight (default 8)
  --out DIR             run directory (default reports/runs/<time>-<commit>[-name]); an existing one resumes
  --fixtures            the small fixture sets; without --model, the tiny synthetic random-weight model
  --name NAME           suffix of a new run id
  --resamples B         bootstrap resamples (default 10000)`,
  options: {
    task: { type: 'string' },
    engine: { type: 'string' },
    model: { type: 'string' },
    'fp8-model': { type: 'string' },
    kernels: { type: 'string' },
    thinking: { type: 'string' },
    samples: { type: 'string' },
    limit: { type: 'string' },
    'max-new-tokens': { type: 'string' },
    seed: { type: 'string' },
    concurrency: { type: 'string' },
    out: { type: 'string' },
    fixtures: { type: 'boolean' },
    name: { type: 'string' },
    resamples: { type: 'string' },
  },
  schema: z.object({
    task: enumList<TaskName>(TASK_NAMES),
    engine: engineName.default('cpu'),
    model: z.string().min(1).optional(),
    'fp8-model': z.string().min(1).optional(),
    kernels: enumList<KernelMode>(KERNEL_MODES).optional(),
    thinking: enumList<ThinkingMode>(['on', 'off']).default(['on', 'off']),
    samples: positiveInt.default(1),
    limit: positiveInt.optional(),
    'max-new-tokens': positiveInt.optional(),
    seed: z.coerce.number({ error: 'expected a non-negative integer' }).int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0),
    concurrency: positiveInt.max(1024).default(8),
    out: z.string().min(1).optional(),
    fixtures: z.boolean().default(false),
    name: z.string().regex(/^[\w.-]+$/, 'letters, digits, . _ - only').optional(),
    resamples: positiveInt.default(10_000),
  }),
  async run(input) {
    const synthetic = input.model === undefined && input['fp8-model'] === undefined;
    if (synthetic && !input.fixtures) {
      throw new UsageError('eval: --model: required (a BF16 model directory or repo id), or --fixtures to run the fixture sets on the synthetic model');
    }
    const kernels: KernelMode[] =
      input.kernels ?? (synthetic ? [...KERNEL_MODES] : [...(input.model !== undefined ? (['bf16'] as const) : []), ...(input['fp8-model'] !== undefined ? (['w8a16', 'w8a8'] as const) : [])]);
    if (!synthetic) {
      if (kernels.includes('bf16') && input.model === undefined) throw new UsageError('eval: --model: required for kernel bf16');
      if (kernels.some((k) => k !== 'bf16') && input['fp8-model'] === undefined) throw new UsageError('eval: --fp8-model: required for kernels w8a16 and w8a8');
    }

    const onProgress = (p: Parameters<typeof formatProgress>[0]) => process.stderr.write(`\r${formatProgress(p)}`);
    let bf16Dir: string | undefined;
    let fp8Dir: string | undefined;
    if (synthetic) {
      console.error('no --model: using the tiny synthetic checkpoint (random weights); accuracies will be ~0, this checks the pipeline only');
      ({ bf16Dir, fp8Dir } = await ensureSyntheticCheckpoints({ preset: 'tiny', onProgress: (message) => console.error(message) }));
    } else {
      if (input.model !== undefined && kernels.includes('bf16')) bf16Dir = (await resolveRepo({ type: 'model', id: input.model }, { onProgress })).dir;
      if (input['fp8-model'] !== undefined && kernels.some((k) => k !== 'bf16')) fp8Dir = (await resolveRepo({ type: 'model', id: input['fp8-model'] }, { onProgress })).dir;
    }

    const engine = await loadEngine(input.engine);
    const controller = new AbortController();
    const stop = () => {
      console.error('\ninterrupted: finished samples are saved; rerun with the same --out to resume');
      controller.abort();
      process.exitCode = 130;
      // A second Ctrl-C kills at once (the JSONL tolerates a torn last line).
      process.once('SIGINT', () => process.exit(130));
    };
    process.once('SIGINT', stop);
    try {
      const run = await runEval({
        plan: {
          tasks: input.task,
          kernels,
          thinking: input.thinking,
          samples: input.samples,
          ...(input.limit !== undefined ? { limit: input.limit } : {}),
          ...(input['max-new-tokens'] !== undefined ? { maxNewTokens: input['max-new-tokens'] } : {}),
          seed: input.seed,
          concurrency: input.concurrency,
          fixtures: input.fixtures,
          resamples: input.resamples,
        },
        models: {
          ...(bf16Dir !== undefined ? { bf16Dir } : {}),
          ...(fp8Dir !== undefined ? { fp8Dir } : {}),
          ...(input.model !== undefined ? { bf16Spec: input.model } : {}),
          ...(input['fp8-model'] !== undefined ? { fp8Spec: input['fp8-model'] } : {}),
          synthetic,
        },
        engine,
        kit: defaultTaskKit(),
        ...(input.out !== undefined ? { outDir: input.out } : {}),
        ...(input.name !== undefined ? { name: input.name } : {}),
        progress: createProgress(),
        signal: controller.signal,
      });
      if (synthetic) console.log('MODEL IS SYNTHETIC (tiny preset, random weights): the accuracies below are meaningless.\n');
      console.log(run.summary);
      const generated = run.cells.reduce((sum, c) => sum + c.generated, 0);
      const resumed = run.cells.reduce((sum, c) => sum + c.resumed, 0);
      console.log(`\nrun ${run.runId}: ${generated} samples generated, ${resumed} resumed; ${run.rows.length} rows`);
      console.log(`wrote ${run.dir}/{results.json,results.csv,env.json,summary.md,samples/}`);
    } finally {
      process.off('SIGINT', stop);
      await engine.dispose();
    }
  },
});
