import { Template } from '@huggingface/jinja';
import type { ModelInfo } from './engine.js';
import type { ToolDefinition } from './tools.js';
import type { ChatMessage } from './types.js';
import { pickFallbackTemplate, type FallbackFamily } from './fallback-templates.js';

/** Renders a conversation into the prompt text the model was trained on. */
export interface ChatTemplate {
  /** Where the template came from: the model's own metadata, or a fallback picked for it (fallback-templates.ts). */
  readonly source: 'model' | `fallback-${FallbackFamily}`;
  /** Text that starts or ends a turn, where an answer must stop (a fallback's; a model's own template ends at its end-of-turn token). */
  readonly stopStrings: readonly string[];
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
 * The model's own template, or, for a model that carries none, the format its
 * vocabulary and architecture point to (`isSpecialToken` says whether a text is
 * one special token of the model's vocabulary), with a warning.
 */
export function chatTemplateFor(info: ModelInfo, warn: (message: string) => void = () => {}, isSpecialToken: (text: string) => boolean = () => false): ChatTemplate {
  if (info.chatTemplate) return jinjaTemplate(info.chatTemplate, 'model', info, []);
  const fallback = pickFallbackTemplate(info.architecture, isSpecialToken);
  warn(`The model ${info.path} has no chat template in its metadata; using the ${fallback.family} format (picked from its ${fallback.family === 'plain' ? 'lack of turn tokens' : 'vocabulary and architecture'}). Answers may be worse if it was trained on another format.`);
  return jinjaTemplate(fallback.source, `fallback-${fallback.family}`, info, fallback.stopStrings);
}

function jinjaTemplate(source: string, origin: ChatTemplate['source'], info: ModelInfo, stopStrings: readonly string[], tools: readonly ToolDefinition[] = []): ChatTemplate {
  const template = new Template(source);
  const toolFormat = source.includes('tools') && source.includes('<tool_call>') ? 'native' : 'text';
  return {
    source: origin,
    stopStrings,
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
    withTools: (given) => jinjaTemplate(source, origin, info, stopStrings, given),
  };
}

/** A message as Hugging Face templates read it: OpenAI's shape, a call's arguments as an object. */
function templateMessage(message: ChatMessage): Record<string, unknown> {
  const { role, content } = message;
  if (message.toolCalls?.length) return { role, content, tool_calls: message.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })) };
  if (role === 'tool') return { role, content, ...(message.toolCallId ? { tool_call_id: message.toolCallId } : {}) };
  return { role, content };
}
