/**
 * The chat templates of the three Qwen3 variants, derived from the template shipped with the Qwen3 tokenizer (Node
 * only: it reads the shipped files). The variants and their transformations are in template-variants.ts.
 */
import { shippedQwen3ChatTemplate } from './shipped.js';
import { deriveChatTemplate, type TemplateVariant } from './template-variants.js';

export {
  OPEN_THINK_IN_GENERATION_PROMPT,
  PLAIN_GENERATION_PROMPT,
  TEMPLATE_TRANSFORMATIONS,
  TEMPLATE_VARIANTS,
  VERBATIM_ASSISTANT_TURNS,
  applyTemplateTransformation,
  deriveChatTemplate,
  detectTemplateVariant,
  promptOpensThink,
  type TemplateTransformation,
  type TemplateVariant,
} from './template-variants.js';

const cache = new Map<TemplateVariant, string>();

/** The chat template (Jinja source) of `variant`, derived from the template shipped with the Qwen3 tokenizer. */
export function chatTemplateFor(variant: TemplateVariant): string {
  let t = cache.get(variant);
  if (t === undefined) {
    t = deriveChatTemplate(shippedQwen3ChatTemplate(), variant);
    cache.set(variant, t);
  }
  return t;
}
