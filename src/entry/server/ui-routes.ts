import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { ConversationStore, StoredMessage } from '../../app/conversations.js';
import { DatabaseError, OnboardError } from '../../core/errors.js';
import type { ChatMessage } from '../../core/types.js';
import { describeSampling, maxTokensSchema, samplingOverridesSchema } from '../../core/sampling.js';
import { HttpError, respondError, toHttpError } from './http-errors.js';
import { disconnectSignal, parseBody, requireRunner, type RouteContext } from './openai-routes.js';
import { streamGeneration } from './sse.js';

/** A conversation's settings: the core's sampling contract and an answer length, each optional. */
export const conversationSettingsSchema = samplingOverridesSchema.extend({ maxTokens: maxTokensSchema.optional() });
const conversationInput = z.strictObject({ title: z.string().max(200).optional(), systemPrompt: z.string().max(20_000).optional(), settings: conversationSettingsSchema.optional() });
const messageInput = z.strictObject({ content: z.string().min(1).max(100_000) });

/** Runs a write whose failure must not hide the error being reported; returns that failure. */
function attempt(write: () => unknown): unknown {
  try {
    write();
    return undefined;
  } catch (error) {
    return error;
  }
}

/** How often a streaming answer is written to SQLite (and always at the end). */
const SAVE_EVERY_MS = 100;

/** The web UI's API: conversations kept in SQLite, answers streamed as server-sent events. */
export function registerUiRoutes(app: Hono, ctx: RouteContext & { store: ConversationStore }): void {
  const { store, host } = ctx;
  const findConversation = (id: string) => {
    const conversation = store.getConversation(id);
    if (!conversation) throw new HttpError(404, `No conversation ${id}`, { code: 'not_found', param: 'id', hint: 'It may have been deleted; start a new chat.' });
    return conversation;
  };

  app.get('/api/info', (c) => {
    return c.json({ ...host.describe(ctx.modelId, (error) => toHttpError(error).body.error), sampling: describeSampling(), ...(ctx.thermal ? { thermal: ctx.thermal.reading() } : {}) });
  });

  app.get('/api/conversations', (c) => c.json(store.listConversations()));

  app.post('/api/conversations', async (c) => c.json(store.createConversation(await parseBody(c, conversationInput)), 201));

  app.get('/api/conversations/:id', (c) => c.json(findConversation(c.req.param('id'))));

  app.patch('/api/conversations/:id', async (c) => {
    findConversation(c.req.param('id'));
    return c.json(store.updateConversation(c.req.param('id'), await parseBody(c, conversationInput)));
  });

  // Answers in progress, so Stop (or a delete) can end one and wait until its last words are saved.
  const inProgress = new Map<string, { abort: AbortController; saved: Promise<void> }>();

  app.delete('/api/conversations/:id', (c) => {
    // A deleted conversation's answer stops: nothing would keep it.
    inProgress.get(c.req.param('id'))?.abort.abort();
    return store.deleteConversation(c.req.param('id')) ? c.body(null, 204) : respondError(c, new HttpError(404, 'No such conversation', { code: 'not_found', param: 'id' }));
  });

  app.post('/api/conversations/:id/stop', async (c) => {
    const running = inProgress.get(c.req.param('id'));
    if (running) {
      running.abort.abort();
      await running.saved;
    }
    return c.body(null, 204);
  });

  const answer = async (c: Context, conversationId: string, history: StoredMessage[]) => {
    const conversation = findConversation(conversationId);
    const runner = requireRunner(host);
    const { maxTokens, ...sampling } = conversation.settings;
    const messages: ChatMessage[] = [
      ...(conversation.systemPrompt ? [{ role: 'system' as const, content: conversation.systemPrompt }] : []),
      ...history.map(({ role, content }) => ({ role, content })),
    ];
    const abort = disconnectSignal(c);
    const stream = runner.chat(messages, {
      sampling,
      ...(maxTokens ? { maxTokens } : {}),
      signal: abort.signal,
      timeLimitMs: ctx.timeLimitMs,
    });
    const first = await stream.next(); // queue full or too long: a status code, not a broken stream
    let reply: StoredMessage;
    try {
      reply = store.addMessage(conversationId, 'assistant', '', true);
    } catch (error) {
      // The sequence is held from the first chunk on: give it back on every way out.
      await stream.return(undefined);
      // Deleted while the request waited in the queue: the conversation is gone, not the server.
      findConversation(conversationId);
      throw error instanceof OnboardError ? error : new DatabaseError(store.path, (error as Error).message);
    }
    let markSaved = () => {};
    inProgress.set(conversationId, { abort, saved: new Promise<void>((resolve) => (markSaved = resolve)) });
    let text = '';
    let savedAt = 0;
    return streamGeneration(c, first, stream, abort, {
      open: (send) => send({ messageId: reply.id }, 'start'),
      text: async (piece, send) => {
        text += piece;
        if (performance.now() - savedAt > SAVE_EVERY_MS) {
          store.updateMessage(reply.id, text, true);
          savedAt = performance.now();
        }
        await send({ text: piece }, 'token');
      },
      done: async (done, send) => {
        const incomplete = done.stats.stopReason === 'abort';
        store.updateMessage(reply.id, done.text, incomplete, done.stats);
        ctx.metrics.generation(done.stats);
        await send({ messageId: reply.id, incomplete, stats: done.stats }, 'done');
      },
      failed: (error, send) => {
        // Keep the partial answer when the database still takes it (it may be the thing that failed).
        const saveFailure = attempt(() => store.updateMessage(reply.id, text, true));
        return send({ ...toHttpError(error).body.error, ...(saveFailure ? { partialAnswerSaved: false } : {}) }, 'error');
      },
      cleanup: () => {
        inProgress.delete(conversationId);
        markSaved();
      },
    });
  };

  app.post('/api/conversations/:id/messages', async (c) => {
    const id = c.req.param('id');
    const { content } = await parseBody(c, messageInput);
    const conversation = findConversation(id);
    requireRunner(host);
    if (conversation.messages.length === 0) store.updateConversation(id, { title: content.slice(0, 60) });
    const user = store.addMessage(id, 'user', content);
    return await answer(c, id, [...conversation.messages, user]);
  });

  app.post('/api/conversations/:id/regenerate', async (c) => {
    const id = c.req.param('id');
    const conversation = findConversation(id);
    const last = conversation.messages.at(-1);
    if (!last || last.role !== 'assistant') throw new HttpError(400, 'The last message is not an answer to regenerate', { code: 'nothing_to_regenerate' });
    requireRunner(host);
    store.deleteMessage(last.id);
    return await answer(c, id, conversation.messages.slice(0, -1));
  });
}
