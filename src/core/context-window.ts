import type { ChatTemplate } from './chat-template.js';
import type { LoadedModel } from './engine.js';
import { PromptTooLongError } from './errors.js';
import type { ChatMessage } from './types.js';

/** The smallest answer a prompt must leave room for before we call it too long. */
export const MIN_ANSWER_TOKENS = 16;

export interface FittedPrompt {
  tokens: number[];
  /** History messages left out (oldest first) so the prompt fits. */
  droppedMessages: number;
}

/**
 * Context-window policy: keep a leading system message and the newest
 * message, drop the oldest turns in between (a user message and its answer
 * together) until the prompt plus `maxTokens` fits. If even the newest
 * message alone leaves no room for an answer, that is a typed error with
 * the counts, never a silent cut.
 */
export function fitMessages(model: LoadedModel, template: ChatTemplate, messages: readonly ChatMessage[], maxTokens: number): FittedPrompt {
  const system = messages[0]?.role === 'system' ? [messages[0]] : [];
  const history = messages.slice(system.length, -1);
  const next = messages.slice(-1);
  const contextSize = model.contextSize;
  let dropped = 0;
  for (;;) {
    const window = [...system, ...history.slice(dropped), ...next];
    const tokens = tokenizePrompt(model, template.render(window, { addGenerationPrompt: true }));
    if (tokens.length + maxTokens <= contextSize) return { tokens, droppedMessages: dropped };
    if (dropped < history.length) {
      dropped = Math.min(history.length, dropped + 2);
      continue;
    }
    const reserved = Math.min(maxTokens, MIN_ANSWER_TOKENS);
    if (tokens.length + reserved <= contextSize) return { tokens, droppedMessages: dropped };
    throw new PromptTooLongError(tokens.length, contextSize, reserved);
  }
}

/** Tokenizes prompt text, parsing control tokens and adding BOS when the model wants it. */
export function tokenizePrompt(model: LoadedModel, text: string): number[] {
  const tokens = model.tokenize(text, { special: true });
  const bos = model.info.bosTokenId;
  if (model.info.addBosToken && bos !== undefined && tokens[0] !== bos) tokens.unshift(bos);
  return tokens;
}
