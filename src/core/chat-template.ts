import { Template } from '@huggingface/jinja';
import type { ModelInfo } from './engine.js';
import type { ChatMessage } from './types.js';

/** Renders a conversation into the prompt text the model was trained on. */
export interface ChatTemplate {
  /** Where the template came from: the model's own metadata, or our fallback. */
  readonly source: 'model' | 'fallback-chatml';
  render(messages: readonly ChatMessage[], options: { addGenerationPrompt: boolean }): string;
}

/**
 * ChatML, used when a model carries no template. Documented in README.md:
 * it is the most common format for instruction-tuned models, but a model
 * trained on another format answers worse with it.
 */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export function chatTemplateFor(info: ModelInfo, warn: (message: string) => void = () => {}): ChatTemplate {
  if (info.chatTemplate) return jinjaTemplate(info.chatTemplate, 'model', info);
  warn(`The model ${info.path} has no chat template in its metadata; using ChatML. Answers may be worse if it was trained on another format.`);
  return jinjaTemplate(CHATML_TEMPLATE, 'fallback-chatml', info);
}

function jinjaTemplate(source: string, origin: ChatTemplate['source'], info: ModelInfo): ChatTemplate {
  const template = new Template(source);
  return {
    source: origin,
    render(messages, { addGenerationPrompt }) {
      return template.render({
        messages: messages.map(({ role, content }) => ({ role, content })),
        add_generation_prompt: addGenerationPrompt,
        bos_token: info.bosToken ?? '',
        eos_token: info.eosToken ?? '',
      });
    },
  };
}
