/**
 * The `LoadedModel` of a local engine: generation is core's shared loop over the engine's `LogitsModel`; memory
 * and disposal are the engine's.
 */
import type {
  GenerateOptions,
  GenerateRequest,
  GenerateResult,
  KernelMode,
  LoadedModel,
  LogitsModel,
  MemoryReport,
} from '../engine.js';
import { generateWithModel, type PromptCodec } from '../generation/generate.js';

export interface LocalModelParts {
  readonly logits: LogitsModel;
  readonly codec: PromptCodec;
  readonly kernel: KernelMode;
  readonly modelDir: string;
  memory(): MemoryReport;
  dispose(): Promise<void>;
}

export class LocalLoadedModel implements LoadedModel {
  readonly logits: LogitsModel;
  readonly kernel: KernelMode;
  readonly modelDir: string;

  constructor(private readonly parts: LocalModelParts) {
    this.logits = parts.logits;
    this.kernel = parts.kernel;
    this.modelDir = parts.modelDir;
  }

  generate(requests: readonly GenerateRequest[], options?: GenerateOptions): Promise<GenerateResult[]> {
    return generateWithModel(this.logits, this.parts.codec, requests, options);
  }

  memory(): MemoryReport {
    return this.parts.memory();
  }

  dispose(): Promise<void> {
    return this.parts.dispose();
  }
}
