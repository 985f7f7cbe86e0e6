import { Template } from '@huggingface/jinja';
import type { ModelInfo } from './engine.js';
import type { ToolDefinition } from './tools.js';
import type { ChatMessage } from './types.js';

/** Renders a conversation into the prompt text the model was trained on. */
export interface ChatTemplate {
  /** Where the template came from: the model's own metadata, or our fallback. */
  readonly source: 'model' | 'fallback-chatml';
  /**
   * `native`: the template itself describes tools and writes calls and results, in the
   * `<tool_call>` format onboard generates calls in (Qwen, Hermes); `text`: it knows no
   * tools, and the core writes them into the messages (tools.ts).
   */
  readonly toolFormat: 'native' | 'text';
  render(messages: readonly ChatMessage[], options: { addGenerationPrompt: boolean }): string;
  /** The same template, given these tools to describe (a `native` template only). */
  withTools(tools: readonly ToolDefinition[]): ChatTemplate;
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

function jinjaTemplate(source: string, origin: ChatTemplate['source'], info: ModelInfo, tools: readonly ToolDefinition[] = []): ChatTemplate {
  const template = new Template(source);
  const toolFormat = source.includes('tools') && source.includes('<tool_call>') ? 'native' : 'text';
  return {
    source: origin,
    toolFormat,
    render(messages, { addGenerationPrompt }) {
      return template.render({
        messages: messages.map(templateMessage),
        ...(tools.length ? { tools: tools.map((tool) => ({ type: 'function', function: tool })) } : {}),
        add_generation_prompt: addGenerationPrompt,
        bos_token: info.bosToken ?? '',
        eos_token: info.eosToken ?? '',
      });
    },
    withTools: (given) => jinjaTemplate(source, origin, info, given),
  };
}

/** A message as Hugging Face templates read it: OpenAI's shape, a call's arguments as an object. */
function templateMessage(message: ChatMessage): Record<string, unknown> {
  const { role, content } = message;
  if (message.toolCalls?.length) return { role, content, tool_calls: message.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })) };
  if (role === 'tool') return { role, content, ...(message.toolCallId ? { tool_call_id: message.toolCallId } : {}) };
  return { role, content };
}
