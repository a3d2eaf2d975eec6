import { access } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatBenchTables, runBench, type BenchModel } from '@quantbench/bench';
import { KERNEL_MODES } from '@quantbench/core';
import { ENGINE_NAMES, engineStatuses, loadEngine } from '@quantbench/engines';
import { formatProgress, resolveRepo } from '@quantbench/model';
import { z } from 'zod';
import { defineCommand, enumList } from '../command.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const DEFAULT_PROMPTS = join(REPO_ROOT, 'datasets/fixtures/logit-prompts.jsonl');

/** A progress line on stderr: rewritten in place on a terminal, one line each otherwise. */
function progressDisplay(): { update: (message: string) => void; done: () => void } {
  const started = performance.now();
  const tty = process.stderr.isTTY;
  const stamp = (): string => {
    const seconds = Math.floor((performance.now() - started) / 1000);
    return `[${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}]`;
  };
  return {
    update(message) {
      const line = `${stamp()} ${message}`;
      if (tty) process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns || 120) - 1)}`);
      else process.stderr.write(`${line}\n`);
    },
    done() {
      if (tty) process.stderr.write('\r\x1b[2K');
    },
  };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** `--model` (and `--fp8-model`, or derived) as directories; the FP8 one may be missing, with the reason. */
async function resolveModels(model: string, fp8Model: string | undefined, onProgress: (message: string) => void): Promise<BenchModel> {
  const download = { onProgress: (p: Parameters<typeof formatProgress>[0]) => onProgress(formatProgress(p)) };
  const { dir, source } = await resolveRepo({ type: 'model', id: model }, download);
  const label = basename(dir) === 'bf16' ? basename(dirname(dir)) : basename(model.replace(/\/+$/, ''));
  if (fp8Model) return { label, bf16Dir: dir, fp8Dir: (await resolveRepo({ type: 'model', id: fp8Model }, download)).dir };
  if (source === 'local') {
    const sibling = join(dirname(dir), 'fp8');
    if (basename(dir) === 'bf16' && (await exists(join(sibling, 'config.json')))) return { label, bf16Dir: dir, fp8Dir: sibling };
    return { label, bf16Dir: dir, fp8Reason: `no FP8 checkpoint: pass --fp8-model (none found beside ${dir})` };
  }
  // Qwen publishes the FP8 checkpoint of `Qwen/X` as `Qwen/X-FP8`.
  const derived = `${model}-FP8`;
  try {
    return { label, bf16Dir: dir, fp8Dir: (await resolveRepo({ type: 'model', id: derived }, download)).dir };
  } catch (error) {
    return { label, bf16Dir: dir, fp8Reason: `no FP8 checkpoint: ${derived} could not be had (${error instanceof Error ? error.message : String(error)}); pass --fp8-model` };
  }
}

export const benchCommand = defineCommand({
  name: 'bench',
  summary: 'the bench matrix: every engine × kernel mode, kernels, accuracy vs BF16, thinking on/off',
  help: `Usage: pnpm bench [--model DIR|REPO [--fp8-model DIR|REPO]] [--engines cpu,webgpu,cuda] [--kernels bf16,w8a16,w8a8] [--quick] [--repeats N] [--out DIR]

Runs every available engine in every kernel mode and measures, per cell: prefill tokens/s, decode tokens/s at
batch 1 and a larger batch, time to first token, time per output token and peak memory (the engine's own
accounting; VRAM for GPU engines). Beside them: kernel microbenchmarks at Qwen3-4B's shapes against a copy-
bandwidth ceiling measured in the same run; KL divergence, top-1 agreement and Δp of every FP8 mode against
BF16 and of every engine against the CPU engine on datasets/fixtures/logit-prompts.jsonl; tokens and time to
answer with thinking on and off. Engines that cannot run here are listed with the reason. A software WebGPU
adapter (SwiftShader, ~1 token/s) gets smaller scenarios.

Writes reports/runs/<time>-<commit>-bench/ (results.json, results.csv, env.json with machine, devices,
library versions and the sha256 of every kernel source); compare it with the baseline with 'pnpm gate'.

Options:
  --model DIR|REPO      BF16 model directory or Hugging Face repo id (default: the synthetic tiny checkpoint,
                        made and cached on first use)
  --fp8-model DIR|REPO  its FP8 checkpoint (default: DIR/../fp8 beside a .../bf16 directory, or REPO-FP8)
  --engines LIST        engines to run (default: all; unavailable ones are listed)
  --kernels LIST        kernel modes (default: bf16,w8a16,w8a8)
  --quick               fewer repeats and kernels (CI)
  --repeats N           timed repeats per figure (default: per engine, fewer on software adapters)
  --out DIR             reports directory (default: reports/)`,
  options: {
    model: { type: 'string' },
    'fp8-model': { type: 'string' },
    engines: { type: 'string' },
    kernels: { type: 'string' },
    quick: { type: 'boolean' },
    repeats: { type: 'string' },
    out: { type: 'string' },
  },
  schema: z
    .object({
      model: z.string().min(1).optional(),
      'fp8-model': z.string().min(1).optional(),
      engines: enumList(ENGINE_NAMES, { invalid: `expected engine names from ${ENGINE_NAMES.join(', ')}` }).optional(),
      kernels: enumList(KERNEL_MODES, { invalid: `expected kernel modes from ${KERNEL_MODES.join(', ')}` }).optional(),
      quick: z.boolean().default(false),
      repeats: z.coerce.number().int().min(2, 'at least 2 repeats (the noise needs two samples)').max(1000).optional(),
      out: z.string().min(1).default(join(REPO_ROOT, 'reports')),
    })
    .refine((input) => !input['fp8-model'] || input.model, { message: '--fp8-model needs --model', path: ['fp8-model'] }),
  async run(input) {
    const display = progressDisplay();
    try {
      const model = input.model ? await resolveModels(input.model, input['fp8-model'], display.update) : undefined;
      const result = await runBench({
        registry: { statuses: engineStatuses, load: loadEngine },
        ...(input.engines ? { engines: input.engines } : {}),
        ...(input.kernels ? { kernels: input.kernels } : {}),
        ...(model ? { model } : {}),
        quick: input.quick,
        ...(input.repeats ? { repeats: input.repeats } : {}),
        reportsDir: resolve(input.out),
        repoRoot: REPO_ROOT,
        promptsFile: DEFAULT_PROMPTS,
        onProgress: display.update,
      });
      display.done();
      console.log(formatBenchTables(result.rows, result.unavailable));
      if (result.skipped.length > 0) console.log(`\nskipped:\n${result.skipped.map((line) => `  ${line}`).join('\n')}`);
      console.log(`\nreport: ${result.report.dir}  (${(result.elapsedMs / 1000).toFixed(0)} s)`);
      if (result.rows.length === 0) throw new Error('no engine could run here (reasons above)');
    } finally {
      display.done();
    }
  },
});
