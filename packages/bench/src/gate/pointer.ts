/**
 * `reports/baseline/`: the pointer to the accepted commit the gate compares against by default, with the figures
 * of a bench run made at that commit kept for history (never compared: figures are only compared within one job on
 * one machine), and `removed.json`, where a change declares the figures it removes on purpose.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

export const POINTER_SCHEMA_VERSION = 2;

const PointerSchema = z
  .object({
    schemaVersion: z.literal(POINTER_SCHEMA_VERSION),
    /** The accepted commit (full id). */
    commit: z.string().regex(/^[0-9a-f]{40}$/, 'a full 40-character commit id'),
    acceptedAt: z.string().datetime(),
    /** A bench run made at that commit, kept under runs/ for history; null when none was given. */
    historyRun: z.string().nullable(),
  })
  .strict();
export type BaselinePointer = z.infer<typeof PointerSchema>;

const RemovedSchema = z
  .object({
    removed: z.array(z.object({ figure: z.string().min(1), reason: z.string().min(1) }).strict()),
  })
  .strict();
export type RemovedFigures = z.infer<typeof RemovedSchema>['removed'];

const issues = (error: z.ZodError): string => error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');

export async function readPointer(dir: string): Promise<BaselinePointer> {
  const file = join(dir, 'baseline.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: no baseline pointer (${error instanceof Error ? error.message : String(error)}); pass --base REF, or accept a commit with 'pnpm gate --update-baseline --base REF'`);
  }
  const parsed = PointerSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${file}: not a quantbench baseline pointer (v${POINTER_SCHEMA_VERSION}): ${issues(parsed.error)}; re-make it with 'pnpm gate --update-baseline --base REF'`);
  return parsed.data;
}

/** The figures the candidate tree declares removed on purpose (`reports/baseline/removed.json`); none if absent. */
export async function readRemovedFigures(dir: string): Promise<RemovedFigures> {
  const file = join(dir, 'removed.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not JSON (${error instanceof Error ? error.message : String(error)}); expected {"removed": [{"figure": "<key>", "reason": "..."}]}`);
  }
  const parsed = RemovedSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${file}: ${issues(parsed.error)}; expected {"removed": [{"figure": "<key>", "reason": "..."}]}`);
  return parsed.data.removed;
}

/** Rewrites `dir` to point at `commit`, keeping a copy of `historyRun` (a run directory) under runs/. */
export async function writePointer(dir: string, commit: string, historyRun?: { runId: string; dir: string }): Promise<BaselinePointer> {
  const pointer = PointerSchema.parse({ schemaVersion: POINTER_SCHEMA_VERSION, commit, acceptedAt: new Date().toISOString(), historyRun: historyRun?.runId ?? null });
  const copies: { file: string; text: string }[] = [];
  if (historyRun) {
    for (const file of ['results.json', 'results.csv', 'env.json']) {
      const text = await readFile(join(historyRun.dir, file), 'utf8').catch(() => undefined);
      if (text !== undefined) copies.push({ file, text });
    }
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'baseline.json'), `${JSON.stringify(pointer, null, 2)}\n`);
  if (historyRun) {
    await mkdir(join(dir, 'runs', historyRun.runId), { recursive: true });
    for (const copy of copies) await writeFile(join(dir, 'runs', historyRun.runId, copy.file), copy.text);
  }
  await writeFile(
    join(dir, 'README.md'),
    [
      '# Regression-gate baseline',
      '',
      'Written by `pnpm gate --update-baseline` (do not edit by hand). `baseline.json` names the accepted commit:',
      '`pnpm gate` checks it out beside the working tree and benchmarks both on this machine, interleaved, so no',
      'figure made on another machine or in another job is ever compared.',
      historyRun ? `\`runs/${historyRun.runId}/\` keeps a bench run made at that commit, for history only.` : '',
      '',
      'A change that removes a figure on purpose (a kernel deleted) says so in `removed.json`:',
      '`{"removed": [{"figure": "kernel|cpu|rms-norm 2560x256", "reason": "fused into the matmul"}]}`;',
      'accepting a new baseline clears it.',
      '',
    ].join('\n'),
  );
  return pointer;
}
