import type { Command } from 'commander';
import { databaseState, defaultDatabasePath, openConversations } from '../../../app/conversations.js';
import { out } from '../terminal.js';

export function registerData(program: Command): void {
  const data = program.command('data').description('The conversations the server keeps');
  data
    .command('wipe')
    .description('Delete every conversation and message; their text is overwritten in the file and its journal (works while a server runs)')
    .option('--db <path>', `the conversation database (default ${defaultDatabasePath()})`)
    .action((flags: { db?: string }) => {
      const path = flags.db ?? defaultDatabasePath();
      if (databaseState(path) === 'absent') {
        out(`nothing to wipe: no database at ${path}\n`);
        return;
      }
      const store = openConversations(path);
      try {
        const removed = store.wipe();
        out(`wiped ${path}: ${removed} conversation(s) deleted\n`);
      } finally {
        store.close();
      }
    });
}
