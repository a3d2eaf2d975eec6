/**
 * The browser-safe part of @quantbench/model: reading a Qwen3 checkpoint, its config and its tokenizer through a
 * ModelFiles (e.g. `httpModelFiles(url)`), and the pure helpers around them. Nothing reachable from here imports
 * `node:*` statically; a directory path given to the readers is opened through `#node-model-files`, which browser
 * bundles resolve to a stub that throws a clear error (test/browser-safety.test.ts bundles this entry for the
 * browser to keep it so).
 *
 * Bundlers pick this entry for `@quantbench/model` itself under the `browser` condition, so code shared with
 * Node (the WebGPU engine) keeps importing '@quantbench/model'. Node-only parts (writers, synthetic checkpoints,
 * the Hugging Face hub download, the shipped tokenizer assets, nodeModelFiles) are only in the main entry.
 */
export * from './errors.js';
export * from './files/index.js';
export * from './safetensors/read.js';
export * from './config/index.js';
export * from './checkpoint/index.js';
export {
  TEMPLATE_TRANSFORMATIONS,
  TEMPLATE_VARIANTS,
  applyTemplateTransformation,
  deriveChatTemplate,
  detectTemplateVariant,
  promptOpensThink,
  type TemplateTransformation,
  type TemplateVariant,
} from './tokenizer/template-variants.js';
export { createStreamDecoder, loadTokenizer } from './tokenizer/tokenizer.js';
export type { DecodeOptions, QwenSpecialIds, QwenTokenizer, RenderChatOptions, StreamDecoder } from './tokenizer/tokenizer.js';
export { splitReasoning } from './tokenizer/reasoning.js';
export type { SplitReasoning, SplitReasoningOptions } from './tokenizer/reasoning.js';
export { ropeFrequencies, ropeTable, type RopeFrequencies } from './rope/rope-frequencies.js';
export { loadLocalModel, type LoadLocalModelOptions, type LocalForward, type LocalModelLimits } from './local-model/load-local-model.js';
