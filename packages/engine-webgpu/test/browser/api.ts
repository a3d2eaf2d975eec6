/** What the browser test page exposes on `window.quantbench`, and the fixed generation both sides run. */
import { type GenerateRequest, GREEDY, type KernelMode } from '@quantbench/core';

export const PROMPT = 'Name three differences between FP8 and BF16 inference.';

/** The request the page and the Node side both run: greedy, thinking off, `tokens` new tokens. */
export function fixedRequest(tokens: number): GenerateRequest {
  return { messages: [{ role: 'user', content: PROMPT }], thinking: false, sampling: GREEDY, maxNewTokens: tokens, seed: 0 };
}

export interface AdapterSummary {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  readonly features: readonly string[];
  readonly maxStorageBufferBindingSize: number;
}

export interface ProbeResult {
  readonly adapter: AdapterSummary;
  readonly userAgent: string;
  /** Tensors in the checkpoint, read over HTTP. */
  readonly tensorCount: number;
  readonly hiddenSize: number;
  /** Sum of the bytes of the first layer's q_proj weight, as read over HTTP (a cheap checksum). */
  readonly qProjByteSum: number;
  /** The chat prompt of fixedRequest, encoded by the tokenizer loaded over HTTP. */
  readonly promptIds: readonly number[];
}

export interface GenerateOutcome {
  readonly device: string;
  readonly tokenIds: readonly number[];
  readonly text: string;
  readonly finishReason: string;
  readonly promptTokens: number;
  readonly loadMs: number;
  readonly generateMs: number;
}

export interface QuantbenchPage {
  probe(modelUrl: string): Promise<ProbeResult>;
  generate(options: { model: string; kernel: KernelMode; tokens: number }): Promise<GenerateOutcome>;
}

declare global {
  interface Window {
    quantbench?: QuantbenchPage;
  }
}
