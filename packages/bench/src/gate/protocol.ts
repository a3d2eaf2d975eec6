/**
 * The A/B gate's worker protocol: the gate runs one worker process per source tree and asks each, in turn, for one
 * sample of a figure, so the two trees are measured alternately on one machine. Requests and responses are JSON,
 * one per line; the worker marks its response lines with PROTOCOL_PREFIX so that whatever else a library prints
 * on stdout cannot be read as an answer. Both trees must speak the same PROTOCOL_VERSION.
 */
import { z } from 'zod';

export const PROTOCOL_VERSION = 1;
export const PROTOCOL_PREFIX = '@@quantbench-gate@@ ';

/** What a figure measures: one kernel call (a microbenchmark case) or one engine call (a prefill or decode step). */
export const FigureGroupSchema = z.enum(['kernel', 'speed']);
export type FigureGroup = z.infer<typeof FigureGroupSchema>;

export const FigureInfoSchema = z
  .object({
    /** `kernel|cpu|gemv-b1 q_proj 4096x2560 bf16`, `speed|webgpu|w8a8|decode-b2`. */
    key: z.string().min(1),
    group: FigureGroupSchema,
    engine: z.string().min(1),
    kernel: z.enum(['bf16', 'w8a16', 'w8a8']),
    /** The case name or the scenario. */
    name: z.string().min(1),
    /** The kernel source file the figure runs (kernel figures), as the engine names it. */
    source: z.string().optional(),
    /** It runs on one thread (a CPU kernel): the gate pins both trees' workers to one core while sampling it. */
    singleThread: z.boolean(),
    /**
     * sha256 of what the figure runs: a kernel's source closure (and its generated code, once prepared); an engine
     * speed figure's engine closure. Equal in both trees: the figure is unchanged.
     */
    fingerprint: z.string().min(1),
  })
  .strict();
export type FigureInfo = z.infer<typeof FigureInfoSchema>;

export const EngineInfoSchema = z.discriminatedUnion('available', [
  z.object({ name: z.string(), available: z.literal(true), device: z.string(), software: z.boolean(), closure: z.string() }).strict(),
  z.object({ name: z.string(), available: z.literal(false), reason: z.string() }).strict(),
]);
export type EngineInfo = z.infer<typeof EngineInfoSchema>;

export const AccuracyFigureSchema = z
  .object({
    /** `accuracy|cpu|w8a8|vs-bf16|kl_divergence_mean`. */
    key: z.string().min(1),
    engine: z.string(),
    kernel: z.enum(['bf16', 'w8a16', 'w8a8']),
    /** `vs-bf16` (the engine's FP8 mode against its BF16) or `vs-cpu` (the engine against the CPU engine). */
    comparison: z.enum(['vs-bf16', 'vs-cpu']),
    metric: z.enum(['kl_divergence_mean', 'top1_agreement']),
    value: z.number(),
    positions: z.number().int().nonnegative(),
  })
  .strict();
export type AccuracyFigure = z.infer<typeof AccuracyFigureSchema>;

export const RequestSchema = z.discriminatedUnion('op', [
  /** The engines (all, or `engines`), the figures and the kernel sources of this tree. */
  z.object({ id: z.number().int(), op: z.literal('describe'), engines: z.array(z.string()).optional() }).strict(),
  /** Runs the figure once and reports its fingerprint with what it compiled (generated WGSL). */
  z.object({ id: z.number().int(), op: z.literal('fingerprint'), key: z.string() }).strict(),
  /** Makes the figure ready (buffers, model, warm-up); answers the median warm-up call in ms. */
  z.object({ id: z.number().int(), op: z.literal('prepare'), key: z.string() }).strict(),
  z.object({ id: z.number().int(), op: z.literal('sample'), key: z.string() }).strict(),
  z.object({ id: z.number().int(), op: z.literal('release'), key: z.string() }).strict(),
  z.object({ id: z.number().int(), op: z.literal('accuracy'), engines: z.array(z.string()) }).strict(),
  z.object({ id: z.number().int(), op: z.literal('exit') }).strict(),
]);
export type Request = z.infer<typeof RequestSchema>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type RequestBody = DistributiveOmit<Request, 'id'>;

const KernelSourceSchema = z.object({ name: z.string(), file: z.string(), sha256: z.string(), closureSha256: z.string() }).strict();

export const DescribeResultSchema = z
  .object({
    protocol: z.number().int(),
    commit: z.string(),
    engines: z.array(EngineInfoSchema),
    figures: z.array(FigureInfoSchema),
    /** Per available engine, its kernel source files with their hashes. */
    kernelSources: z.record(z.string(), z.array(KernelSourceSchema)),
  })
  .strict();
export type DescribeResult = z.infer<typeof DescribeResultSchema>;

export const ResponseSchema = z.union([
  z.object({ id: z.number().int(), ok: z.literal(true), result: z.unknown() }).strict(),
  z.object({ id: z.number().int(), ok: z.literal(false), error: z.string() }).strict(),
]);
export type Response = z.infer<typeof ResponseSchema>;

/** Result shapes per op. */
export const FingerprintResultSchema = z.object({ fingerprint: z.string() }).strict();
export const PrepareResultSchema = z.object({ callMs: z.number().nonnegative() }).strict();
export const SampleResultSchema = z.object({ ms: z.number().positive() }).strict();
export const AccuracyResultSchema = z.object({ figures: z.array(AccuracyFigureSchema) }).strict();
