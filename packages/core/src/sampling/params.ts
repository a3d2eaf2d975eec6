import { z } from 'zod';

/**
 * Sampling settings. `temperature: 0` means greedy (argmax, lowest id on ties). The filters apply in the order
 * transformers and vLLM use: presence penalty, temperature, top-k, top-p, min-p.
 */
export const SamplingParamsSchema = z
  .object({
    temperature: z.number().min(0).default(0),
    /** 0 disables top-k. */
    topK: z.number().int().min(0).default(0),
    /** 1 disables top-p. */
    topP: z.number().gt(0).max(1).default(1),
    /** 0 disables min-p. */
    minP: z.number().min(0).max(1).default(0),
    /** Subtracted once from the logit of every token already generated (OpenAI / vLLM semantics). */
    presencePenalty: z.number().min(-2).max(2).default(0),
  })
  .strict();

export type SamplingParams = z.infer<typeof SamplingParamsSchema>;

export const GREEDY: SamplingParams = { temperature: 0, topK: 0, topP: 1, minP: 0, presencePenalty: 0 };
