import { databaseKeyFromEnv } from '../adapters/files/model-key.js';
import { ConversationStore, databaseState, defaultDatabasePath, type Conversation, type ConversationSettings, type StoredMessage } from '../adapters/storage/conversation-store.js';

export { databaseState, defaultDatabasePath, type ConversationStore, type Conversation, type ConversationSettings, type StoredMessage };

/**
 * The web UI's conversations, kept in SQLite at `path` (default: the per-user
 * database), encrypted when a key is given (--db-key-file, ONBOARD_DB_KEY).
 */
export function openConversations(path: string = defaultDatabasePath(), key: Buffer | undefined = databaseKeyFromEnv()): ConversationStore {
  return new ConversationStore(path, key ? { key } : {});
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * Keeps conversations for `days`: older ones are deleted now and once a day
 * after. Returns a stop function; the timer never keeps the process alive.
 */
export function applyRetention(store: ConversationStore, days: number, onDeleted: (count: number) => void, now: () => Date = () => new Date()): () => void {
  const sweep = () => {
    const removed = store.deleteOlderThan(new Date(now().getTime() - days * DAY_MS));
    if (removed > 0) onDeleted(removed);
  };
  sweep();
  const timer = setInterval(sweep, DAY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
