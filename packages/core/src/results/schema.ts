import { z } from 'zod';

/**
 * Results are tidy rows: one row per measured value. New metrics need no schema change; the CSV, the gate and
 * the report site all read the same rows. Bump RESULTS_SCHEMA_VERSION on any incompatible change.
 */
export const RESULTS_SCHEMA_VERSION = 1;

export const ResultRowSchema = z
  .object({
    runId: z.string().min(1),
    commit: z.string().min(1),
    engine: z.string().min(1),
    /** The adapter or device in words: `CPU (2 threads)`, `SwiftShader (Vulkan)`. */
    device: z.string().min(1),
    format: z.enum(['bf16', 'fp8']),
    kernel: z.enum(['bf16', 'w8a16', 'w8a8']),
    thinking: z.enum(['on', 'off', 'n/a']),
    /** The task (eval) or scenario (bench), e.g. `gsm8k`, `decode-b1`, `gemv-fp8-2560x9728`. */
    task: z.string().min(1),
    metric: z.string().min(1),
    value: z.number(),
    unit: z.string(),
    /** Samples behind the value (repeats, problems, tokens). */
    n: z.number().int().nonnegative(),
    ciLow: z.number().nullable(),
    ciHigh: z.number().nullable(),
    seed: z.number().int().nullable(),
  })
  .strict();

export type ResultRow = z.infer<typeof ResultRowSchema>;

export const ResultsFileSchema = z
  .object({
    schemaVersion: z.literal(RESULTS_SCHEMA_VERSION),
    runId: z.string().min(1),
    createdAt: z.string().datetime(),
    rows: z.array(ResultRowSchema),
  })
  .strict();

export type ResultsFile = z.infer<typeof ResultsFileSchema>;

/** Validates parsed JSON as a results file, naming the file and each bad field. */
export function parseResultsFile(json: unknown, file: string): ResultsFile {
  const parsed = ResultsFileSchema.safeParse(json);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new Error(`${file}: not a quantbench results file (schema v${RESULTS_SCHEMA_VERSION}):\n  ${problems.join('\n  ')}`);
}
