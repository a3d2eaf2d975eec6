export { copyQwen3TokenizerFiles, qwen3TokenizerAssetsDir, shippedQwen3ChatTemplate } from './assets.js';
export {
  TEMPLATE_TRANSFORMATIONS,
  TEMPLATE_VARIANTS,
  applyTemplateTransformation,
  chatTemplateFor,
  deriveChatTemplate,
  detectTemplateVariant,
  promptOpensThink,
} from './templates.js';
export type { TemplateTransformation, TemplateVariant } from './templates.js';
export { createStreamDecoder, loadTokenizer } from './tokenizer.js';
export type {
  DecodeOptions,
  QwenSpecialIds,
  QwenTokenizer,
  RenderChatOptions,
  StreamDecoder,
} from './tokenizer.js';
export { splitReasoning } from './reasoning.js';
export type { SplitReasoning, SplitReasoningOptions } from './reasoning.js';
