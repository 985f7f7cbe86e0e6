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
 * The answer room history is dropped for: the answer's cap, but never more
 * than a quarter of the context, so a large `maxTokens` cannot push out a
 * conversation that fits (the answer is then cut at the context's end).
 */
export function answerReserve(maxTokens: number, contextSize: number): number {
  return Math.min(maxTokens, Math.max(MIN_ANSWER_TOKENS, Math.floor(contextSize / 4)));
}

/**
 * Context-window policy: keep a leading system message and the newest
 * message, drop the oldest turns in between (a user message and its answer
 * together) until the prompt plus the answer reserve fits, and, with a
 * response-time budget, until `fastEnough` says its prefill is quick enough. If even the newest
 * message alone leaves no room for an answer, that is a typed error with
 * the counts, never a silent cut.
 */
export function fitMessages(model: LoadedModel, template: ChatTemplate, messages: readonly ChatMessage[], maxTokens: number, fastEnough: (tokens: readonly number[]) => boolean = () => true): FittedPrompt {
  const system = messages[0]?.role === 'system' ? [messages[0]] : [];
  const history = messages.slice(system.length, -1);
  const next = messages.slice(-1);
  const contextSize = model.contextSize;
  const reserve = answerReserve(maxTokens, contextSize);
  let dropped = 0;
  for (;;) {
    const window = [...system, ...history.slice(dropped), ...next];
    const tokens = tokenizeConversation(model, template, window);
    const fits = tokens.length + reserve <= contextSize;
    // The response-time budget drops turns in the same order, as long as there are any to drop.
    if (fits && (fastEnough(tokens) || dropped >= history.length)) return { tokens, droppedMessages: dropped };
    if (dropped < history.length) {
      dropped = Math.min(history.length, dropped + 2);
      continue;
    }
    const reserved = Math.min(maxTokens, MIN_ANSWER_TOKENS);
    if (tokens.length + reserved <= contextSize) return { tokens, droppedMessages: dropped };
    throw new PromptTooLongError(tokens.length, contextSize, reserved);
  }
}

/**
 * Renders and tokenizes a conversation so that only the template's own text
 * can produce control tokens: message contents are tokenized as plain text,
 * so a user who types "<|im_end|>" cannot end their turn or forge another.
 * Each content is rendered as a unique marker, the markers split the prompt,
 * and the pieces are tokenized apart. A template that transforms contents
 * beyond recognition falls back to tokenizing the whole prompt.
 */
export function tokenizeConversation(model: LoadedModel, template: ChatTemplate, messages: readonly ChatMessage[]): number[] {
  const markers = messages.map((_, i) => `\u0001onboard-message-${i}\u0001`);
  const rendered = template.render(
    messages.map((message, i) => ({ ...message, content: markers[i]! })),
    { addGenerationPrompt: true },
  );
  const pieces: Array<{ text: string; special: boolean }> = [];
  let rest = rendered;
  for (const [i, marker] of markers.entries()) {
    const at = rest.indexOf(marker);
    if (at === -1 || rest.indexOf(marker, at + 1) !== -1) return tokenizePrompt(model, template.render(messages, { addGenerationPrompt: true }));
    pieces.push({ text: rest.slice(0, at), special: true }, { text: messages[i]!.content, special: false });
    rest = rest.slice(at + marker.length);
  }
  pieces.push({ text: rest, special: true });
  const tokens = pieces.flatMap((piece) => (piece.text ? model.tokenize(piece.text, { special: piece.special }) : []));
  return withBos(model, tokens);
}

/** Tokenizes prompt text, parsing control tokens and adding BOS when the model wants it. */
export function tokenizePrompt(model: LoadedModel, text: string): number[] {
  return withBos(model, model.tokenize(text, { special: true }));
}

function withBos(model: LoadedModel, tokens: number[]): number[] {
  const bos = model.info.bosTokenId;
  if (model.info.addBosToken && bos !== undefined && tokens[0] !== bos) tokens.unshift(bos);
  return tokens;
}
