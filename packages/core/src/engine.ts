/**
 * The contract every quantbench engine implements.
 *
 * Two tiers, so that a remote OpenAI-compatible server can stand behind the same interface:
 * - `TextGenerator`: chat requests in, streamed tokens and timings out. Every engine has it.
 * - `LogitsModel`: a KV-cached forward pass over a batch of sequences (prefill, batched decode, logits).
 *   Local engines (CPU, WebGPU, CUDA) have it; `generate` on them is `generateWithModel` from this package.
 */
import type { MicrobenchmarkSuite, MicrobenchmarkSuiteOptions } from './microbench/cases.js';
import type { SamplingParams } from './sampling/params.js';

/** How the weights are stored on disk. */
export type WeightFormat = 'bf16' | 'fp8';

/**
 * How the matmuls run.
 * - `bf16`: BF16 weights.
 * - `w8a16`: FP8 e4m3 weights with 128×128 block scales, dequantised in the kernel; activations stay high precision.
 * - `w8a8`: as `w8a16` plus dynamic per-token 1×128 activation quantisation to e4m3 (vLLM / SGLang block FP8).
 * Embeddings, norms and the tied lm_head stay BF16 in every mode.
 */
export type KernelMode = 'bf16' | 'w8a16' | 'w8a8';

export const KERNEL_MODES: readonly KernelMode[] = ['bf16', 'w8a16', 'w8a8'];

/** The weight format each kernel mode reads. */
export function weightFormatOf(kernel: KernelMode): WeightFormat {
  return kernel === 'bf16' ? 'bf16' : 'fp8';
}

export interface EngineCapabilities {
  /** Registry name: `cpu`, `webgpu`, `cuda`, `openai`. */
  readonly engine: string;
  /** What it runs on, in words: `CPU (2 threads)`, `SwiftShader (Vulkan)`, `NVIDIA H100 80GB HBM3`. */
  readonly device: string;
  readonly formats: readonly WeightFormat[];
  readonly kernelModes: readonly KernelMode[];
  /** Longest sequence (prompt + generated tokens) one sequence may reach. */
  readonly maxContext: number;
  /** Most sequences that may be decoded in one step. */
  readonly maxBatch: number;
  /** Whether `load` returns a `LogitsModel` (false for remote engines). */
  readonly logits: boolean;
  /** A CPU implementation of a GPU API (SwiftShader, llvmpipe): benchmarks size their scenarios down. */
  readonly software?: boolean;
}

export interface LoadOptions {
  /** A Hugging Face-style model directory (config.json, safetensors, tokenizer files). */
  readonly modelDir: string;
  readonly kernel: KernelMode;
  /** KV-cache capacity per sequence; defaults to the engine's choice, never above the model's max positions. */
  readonly maxContext?: number;
  /** Sequences that may hold a KV cache at once. */
  readonly maxBatch?: number;
}

/** Bytes held by an engine, as its own accounting sees them (VRAM for GPU engines). */
export interface MemoryReport {
  readonly bytesNow: number;
  readonly bytesPeak: number;
  /** Weights as held by the engine (FP8 stays one byte per weight). */
  readonly weightBytes: number;
  readonly kvCacheBytes: number;
  /** Where the numbers come from: `engine accounting`, `cudaMemGetInfo`, ... */
  readonly source: string;
}

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  /** An assistant turn may include `<think>…</think>` reasoning; the chat template decides what to keep. */
  readonly content: string;
}

export interface GenerateRequest {
  readonly messages: readonly ChatMessage[];
  /** Thinking mode, passed to the chat template as `enable_thinking`. */
  readonly thinking: boolean;
  readonly sampling: SamplingParams;
  readonly maxNewTokens: number;
  readonly seed: number;
}

export type FinishReason = 'stop' | 'length';

/** One streamed token. `index` is the request's position in the batch passed to `generate`. */
export interface TokenEvent {
  readonly index: number;
  readonly tokenId: number;
  /** Milliseconds since `generate` was called. */
  readonly atMs: number;
}

export interface GenerateResult {
  readonly index: number;
  readonly promptTokens: number;
  readonly tokenIds: readonly number[];
  readonly text: string;
  readonly finishReason: FinishReason;
  /** Time to first token: prefill plus the first sample, milliseconds. */
  readonly ttftMs: number;
  /** Wall time of the whole request, milliseconds. */
  readonly totalMs: number;
}

export interface GenerateOptions {
  readonly onToken?: (event: TokenEvent) => void;
  readonly signal?: AbortSignal;
}

export interface TextGenerator {
  generate(requests: readonly GenerateRequest[], options?: GenerateOptions): Promise<GenerateResult[]>;
}

/** Which positions of a prefill return logits. */
export type LogitsWanted = 'none' | 'last' | 'all';

/** One sequence's next token in a batched decode step. */
export interface DecodeInput {
  readonly sequence: number;
  readonly token: number;
}

/**
 * A KV-cached forward pass. Sequences are slots `0 .. maxBatch-1`; each holds its own cache and length, so a
 * batch may mix sequences of different lengths. Logits are float32, row-major `[rows, vocabSize]`.
 */
export interface LogitsModel {
  readonly vocabSize: number;
  readonly maxContext: number;
  readonly maxBatch: number;
  /** Current cached length of a sequence slot. */
  length(sequence: number): number;
  /** Appends `tokens` to a sequence's cache (which may already hold tokens) and returns the wanted logits. */
  prefill(sequence: number, tokens: Int32Array, wanted: LogitsWanted): Promise<Float32Array>;
  /** One decode step for several sequences at once; returns `[inputs.length, vocabSize]` logits. */
  decode(inputs: readonly DecodeInput[]): Promise<Float32Array>;
  /**
   * Optional: a decode step that selects on the device the `k` largest logits of each sequence (k ≤ MAX_DEVICE_TOP_K),
   * sorted descending with lower token ids first on ties, so only `k` (token, logit) pairs per sequence come back
   * instead of the whole vocabulary. `[inputs.length, k]` each.
   */
  decodeTopK?(inputs: readonly DecodeInput[], k: number): Promise<TopKRows>;
  /** Forgets a sequence's cache so its slot can be reused. */
  reset(sequence: number): void;
}

/** The largest `k` engines must support in `decodeTopK`. */
export const MAX_DEVICE_TOP_K = 64;

export interface TopKRows {
  readonly k: number;
  readonly tokens: Int32Array;
  readonly logits: Float32Array;
}

/** A model as loaded by an engine. */
export interface LoadedModel extends TextGenerator {
  readonly kernel: KernelMode;
  readonly modelDir: string;
  /** Absent on engines that cannot expose logits (remote servers). */
  readonly logits?: LogitsModel;
  memory(): MemoryReport;
  dispose(): Promise<void>;
}

export interface Engine {
  readonly name: string;
  capabilities(): Promise<EngineCapabilities>;
  load(options: LoadOptions): Promise<LoadedModel>;
  dispose(): Promise<void>;
  /** Optional: the engine's kernel source files with their hashes, recorded with every benchmark run. */
  kernelSources?(): Promise<KernelSource[]>;
  /**
   * Optional: the sha256 of everything the engine runs (its code with all it imports, its kernels, its native
   * sources; core/node's `sourceClosure`). Where two source trees agree on it, the engine cannot differ between
   * them but by noise.
   */
  sourceClosure?(): Promise<string>;
  /**
   * Optional: kernel microbenchmark cases at a model's real shapes, the bandwidth-ceiling probe among them. The
   * engine only prepares and runs a case; timing, warm-up and statistics are `runMicrobenchmarks`' (or the gate's).
   */
  microbenchmarks?(options?: MicrobenchmarkSuiteOptions): Promise<MicrobenchmarkSuite>;
}

/** One kernel source file: what a benchmark result ran, so a changed figure can be traced to a changed kernel. */
export interface KernelSource {
  /** The kernel's name, usually its file name without extension: `matmul-bf16`, `gemv-fp8-w8a8`. */
  readonly name: string;
  /** Path relative to the engine package: `src/kernels/matmul-bf16.ts`. */
  readonly file: string;
  /** sha256 of the file's bytes, hex. */
  readonly sha256: string;
  /**
   * sha256 of what is compiled with it: the file and everything it includes or imports, transitively (workspace
   * sources by content, third-party packages by name and version), so an edited shared helper changes it too.
   */
  readonly closureSha256: string;
}

/** What each engine package exports: one factory. */
export type EngineFactory<Options = Record<string, never>> = (options?: Options) => Promise<Engine>;

/**
 * Thrown by a factory when the engine cannot run here; the registry shows `reason` to the user. The message names
 * the engine by `displayName` (default: its registry name), e.g. `CUDA engine unavailable: no CUDA device found`.
 */
export class EngineUnavailableError extends Error {
  constructor(
    readonly engine: string,
    readonly reason: string,
    displayName: string = engine,
  ) {
    super(`${displayName} engine unavailable: ${reason}`);
    this.name = 'EngineUnavailableError';
  }
}
