import { chmodSync, closeSync, mkdirSync, openSync, readSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3-multiple-ciphers';
import { DatabaseError } from '../../core/errors.js';
import type { SamplingOptions } from '../../core/sampling.js';
import type { GenerationStats, Role } from '../../core/types.js';

/** Per-conversation overrides of the core's sampling contract, and an answer length. */
export type ConversationSettings = Partial<SamplingOptions> & { maxTokens?: number };

export interface Conversation {
  id: string;
  title: string;
  systemPrompt: string;
  settings: ConversationSettings;
  createdAt: string;
  updatedAt: string;
}

export interface StoredMessage {
  id: number;
  conversationId: string;
  role: Role;
  content: string;
  /** True while an answer streams, and forever if it was cut short (stop, crash). */
  incomplete: boolean;
  stats?: GenerationStats;
  createdAt: string;
}

/** `$ONBOARD_DATA_DIR/conversations.db`, else under `$XDG_DATA_HOME` or `~/.local/share`. */
export function defaultDatabasePath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.ONBOARD_DATA_DIR || join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'onboard');
  return join(dir, 'conversations.db');
}

/**
 * Conversations are private: the folder is made owner-only (0700) and the file
 * is created 0600 before SQLite opens it (its -wal and -shm files take the same mode).
 */
function createPrivately(path: string): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(path, '', { flag: 'a', mode: 0o600 });
  chmodSync(path, 0o600);
}

/** What went wrong, in words a user can act on. */
function databaseProblem(error: unknown, encrypted: boolean): string {
  const code = (error as { code?: string }).code ?? '';
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_NOTADB' && encrypted) return 'the key does not open it (another key, or a database created without one: move it aside or run `onboard data wipe` without the key)';
  if (code === 'SQLITE_NOTADB') return 'the file is not a SQLite database, or it is encrypted (give its key: --db-key-file or ONBOARD_DB_KEY)';
  if (code === 'EISDIR' || code === 'SQLITE_CANTOPEN') return `it cannot be opened (a directory, or a folder this user cannot write?): ${message}`;
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM' || code.startsWith('SQLITE_READONLY')) return `it is read-only for this user (${message})`;
  if (code.startsWith('SQLITE_CORRUPT')) return `the database is corrupt (${message})`;
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') return 'the disk is full';
  return message;
}

interface MessageRow {
  id: number;
  conversation_id: string;
  role: Role;
  content: string;
  incomplete: number;
  stats_json: string | null;
  created_at: string;
}

interface ConversationRow {
  id: string;
  title: string;
  system_prompt: string;
  settings_json: string;
  created_at: string;
  updated_at: string;
}

/** SQLite's first 16 bytes; an encrypted database starts with random-looking bytes instead. */
const SQLITE_HEADER = 'SQLite format 3\0';

/** Whether the database file at `path` is encrypted, plain, or not there yet. */
export function databaseState(path: string): 'encrypted' | 'plain' | 'absent' {
  const head = Buffer.alloc(16);
  let read = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      read = readSync(fd, head, 0, 16, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return 'absent';
  }
  if (read === 0) return 'absent';
  return head.toString('latin1') === SQLITE_HEADER ? 'plain' : 'encrypted';
}

export interface StoreOptions {
  /** A 32-byte key: the file (and its WAL) is encrypted with SQLCipher 4's scheme (AES-256, HMAC-SHA512 per page). */
  key?: Buffer;
}

/**
 * Conversations and messages in SQLite (WAL). An answer is written while it
 * streams, so a crash keeps what was generated, marked incomplete. Deleted
 * rows are overwritten (secure_delete), so retention and wipe leave no text.
 */
export class ConversationStore {
  private readonly db: Database.Database;
  readonly encrypted: boolean;

  constructor(readonly path: string, options: StoreOptions = {}) {
    this.encrypted = options.key !== undefined;
    try {
      if (path !== ':memory:') createPrivately(path);
      this.db = new Database(path);
      if (options.key) {
        // SQLite3MultipleCiphers' SQLCipher scheme, version 4: files SQLCipher tools (and Android's SQLCipher) open.
        this.db.pragma("cipher = 'sqlcipher'");
        this.db.pragma('legacy = 4');
        this.db.pragma(`key = "x'${options.key.toString('hex')}'"`);
      }
      this.db.pragma('secure_delete = ON');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('foreign_keys = ON');
      this.createTables();
      // Proves the file is writable now, not at the first answer.
      this.db.exec('BEGIN IMMEDIATE; ROLLBACK;');
    } catch (error) {
      throw new DatabaseError(path, databaseProblem(error, this.encrypted));
    }
  }

  private createTables(): void {
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS conversations (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        system_prompt TEXT NOT NULL DEFAULT '',
        settings_json TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
        role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
        content TEXT NOT NULL,
        incomplete INTEGER NOT NULL DEFAULT 0,
        stats_json TEXT,
        created_at TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id, id);
    `);
  }

  listConversations(): Conversation[] {
    return this.db.prepare<[], ConversationRow>('SELECT * FROM conversations ORDER BY updated_at DESC').all().map(toConversation);
  }

  getConversation(id: string): (Conversation & { messages: StoredMessage[] }) | undefined {
    const row = this.db.prepare<[string], ConversationRow>('SELECT * FROM conversations WHERE id = ?').get(id);
    if (!row) return undefined;
    const messages = this.db.prepare<[string], MessageRow>('SELECT * FROM messages WHERE conversation_id = ? ORDER BY id').all(id).map(toMessage);
    return { ...toConversation(row), messages };
  }

  createConversation(input: { title?: string; systemPrompt?: string; settings?: ConversationSettings } = {}): Conversation {
    const now = new Date().toISOString();
    const row: ConversationRow = {
      id: randomUUID(),
      title: input.title ?? 'New chat',
      system_prompt: input.systemPrompt ?? '',
      settings_json: JSON.stringify(input.settings ?? {}),
      created_at: now,
      updated_at: now,
    };
    this.write('INSERT INTO conversations VALUES (@id, @title, @system_prompt, @settings_json, @created_at, @updated_at)', row);
    return toConversation(row);
  }

  updateConversation(id: string, patch: { title?: string; systemPrompt?: string; settings?: ConversationSettings }): Conversation | undefined {
    const current = this.db.prepare<[string], ConversationRow>('SELECT * FROM conversations WHERE id = ?').get(id);
    if (!current) return undefined;
    const next: ConversationRow = {
      ...current,
      title: patch.title ?? current.title,
      system_prompt: patch.systemPrompt ?? current.system_prompt,
      settings_json: patch.settings ? JSON.stringify(patch.settings) : current.settings_json,
      updated_at: new Date().toISOString(),
    };
    this.write('UPDATE conversations SET title = @title, system_prompt = @system_prompt, settings_json = @settings_json, updated_at = @updated_at WHERE id = @id', next);
    return toConversation(next);
  }

  deleteConversation(id: string): boolean {
    return this.write('DELETE FROM conversations WHERE id = ?', id).changes > 0;
  }

  addMessage(conversationId: string, role: Role, content: string, incomplete = false): StoredMessage {
    const createdAt = new Date().toISOString();
    const result = this.write('INSERT INTO messages (conversation_id, role, content, incomplete, created_at) VALUES (?, ?, ?, ?, ?)', conversationId, role, content, incomplete ? 1 : 0, createdAt);
    this.write('UPDATE conversations SET updated_at = ? WHERE id = ?', createdAt, conversationId);
    return { id: Number(result.lastInsertRowid), conversationId, role, content, incomplete, createdAt };
  }

  /** Writes the answer so far; called as it streams. */
  updateMessage(id: number, content: string, incomplete: boolean, stats?: GenerationStats): void {
    this.write('UPDATE messages SET content = ?, incomplete = ?, stats_json = COALESCE(?, stats_json) WHERE id = ?', content, incomplete ? 1 : 0, stats ? JSON.stringify(stats) : null, id);
  }

  deleteMessage(id: number): void {
    this.write('DELETE FROM messages WHERE id = ?', id);
  }

  /** Deletes conversations not updated since `cutoff` (their messages go with them); returns how many. */
  deleteOlderThan(cutoff: Date): number {
    const removed = this.write('DELETE FROM conversations WHERE updated_at < ?', cutoff.toISOString()).changes;
    if (removed > 0) this.compact();
    return removed;
  }

  /** Deletes every conversation and message, and leaves no copy of their text in the file or its WAL. */
  wipe(): number {
    const removed = this.write('DELETE FROM conversations').changes;
    this.write('DELETE FROM messages');
    this.write("DELETE FROM sqlite_sequence WHERE name = 'messages'");
    this.compact();
    return removed;
  }

  /** Moves the WAL into the file and empties it, then rebuilds the file without free pages. */
  private compact(): void {
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.exec('VACUUM');
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (error) {
      throw new DatabaseError(this.path, databaseProblem(error, this.encrypted));
    }
  }

  close(): void {
    this.db.close();
  }

  /** Every write: a failure (disk full, file gone read-only) is a typed DatabaseError, not a bare SqliteError. */
  private write(sql: string, ...params: unknown[]): Database.RunResult {
    try {
      return this.db.prepare(sql).run(...params);
    } catch (error) {
      throw new DatabaseError(this.path, databaseProblem(error, this.encrypted));
    }
  }
}

function toConversation(row: ConversationRow): Conversation {
  return { id: row.id, title: row.title, systemPrompt: row.system_prompt, settings: JSON.parse(row.settings_json) as ConversationSettings, createdAt: row.created_at, updatedAt: row.updated_at };
}

function toMessage(row: MessageRow): StoredMessage {
  return {
    id: row.id,
    conversationId: row.conversation_id,
    role: row.role,
    content: row.content,
    incomplete: row.incomplete === 1,
    ...(row.stats_json ? { stats: JSON.parse(row.stats_json) as GenerationStats } : {}),
    createdAt: row.created_at,
  };
}
