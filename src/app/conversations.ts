import { ConversationStore, defaultDatabasePath, type Conversation, type ConversationSettings, type StoredMessage } from '../adapters/storage/conversation-store.js';

export { defaultDatabasePath, type ConversationStore, type Conversation, type ConversationSettings, type StoredMessage };

/** The web UI's conversations, kept in SQLite at `path` (default: the per-user database). */
export function openConversations(path: string = defaultDatabasePath()): ConversationStore {
  return new ConversationStore(path);
}
