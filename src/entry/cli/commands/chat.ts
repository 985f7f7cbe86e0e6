import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { ChatSession } from '../../../core/chat-session.js';
import type { App, OpenChatOptions } from '../../../app/composition.js';
import { describeError, statsLine, statsTable } from '../format.js';
import { addGenerationOptions, parseGenerationFlags, type GenerationFlags } from '../options.js';

const HELP = `Commands:
  /reset          forget the conversation (the system prompt stays)
  /system <text>  set the system prompt (/system alone clears it)
  /stats          stats of the last answer
  /help           this list
  /exit           leave (or Ctrl-D; Ctrl-C twice at the prompt)
Ctrl-C while an answer streams stops it and keeps the conversation.`;

export function registerChat(program: Command, app: () => App): void {
  addGenerationOptions(program.command('chat').description('Chat in the terminal, streaming each answer'))
    .addHelpText('after', `\n${HELP}\n\nExamples:\n  onboard chat\n  onboard chat --system "You answer in one sentence." --temperature 0.2`)
    .action(async (flags: GenerationFlags) => {
      const options = parseGenerationFlags(flags);
      await runRepl(app(), options);
    });
}

async function runRepl(app: App, options: OpenChatOptions): Promise<void> {
  const out = process.stdout;
  const err = process.stderr;
  const dim = (text: string) => (err.isTTY ? `\x1b[2m${text}\x1b[0m` : text);
  err.write(dim('loading the model... (you can type already)\n'));
  let answering: AbortController | undefined;
  // Warm-up: the model loads in the background while the user types.
  const ready: Promise<ChatSession> = app.openChat(options);
  const rl = createInterface({ input: process.stdin, output: out, terminal: Boolean(process.stdin.isTTY && out.isTTY), prompt: '> ' });
  ready.then(
    (session) => {
      // Clear the prompt line, say we are ready, and redraw the prompt with what the user typed so far.
      if (out.isTTY) out.write('\r\x1b[2K');
      const artifact = session.model.backend.artifact ? ` (artifact ${session.model.backend.artifact.id})` : '';
      err.write(dim(`ready: ${session.model.info.architecture} on ${session.model.engine}/${session.model.backend.backend}${artifact}, context ${session.model.contextSize} tokens. /help for commands.\n`));
      if (!answering) rl.prompt(true);
    },
    (error: unknown) => {
      const { text, exitCode } = describeError(error);
      err.write(`\n${text}\n`);
      process.exitCode = exitCode;
      rl.close();
    },
  );
  let exitArmed = false;
  const onInterrupt = () => {
    if (answering) {
      answering.abort();
      return;
    }
    if (exitArmed) {
      rl.close();
      return;
    }
    exitArmed = true;
    out.write('\n(press Ctrl-C again to exit, or type /exit)\n');
    rl.prompt();
  };
  rl.on('SIGINT', onInterrupt);
  process.on('SIGINT', onInterrupt);

  rl.prompt();
  try {
    for await (const raw of rl) {
      exitArmed = false;
      const line = raw.trim();
      if (line === '') {
        rl.prompt();
        continue;
      }
      const session = await ready.catch(() => undefined);
      if (!session) break;
      if (line.startsWith('/')) {
        if (handleCommand(line, session, out)) break;
        rl.prompt();
        continue;
      }
      answering = new AbortController();
      try {
        for await (const chunk of session.send(line, { signal: answering.signal })) {
          if (chunk.type === 'text') out.write(chunk.text);
          else {
            out.write(chunk.stats.stopReason === 'abort' ? ' [stopped]\n' : '\n');
            err.write(`${dim(statsLine(chunk.stats))}\n`);
          }
        }
      } catch (error) {
        // The conversation survives a failed answer: report it and keep going.
        err.write(`${describeError(error).text}\n`);
      } finally {
        answering = undefined;
      }
      rl.prompt();
    }
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    rl.close();
    const session = await ready.catch(() => undefined);
    await session?.runner.close();
  }
}

/** Returns true when the REPL should end. */
function handleCommand(line: string, session: ChatSession, out: NodeJS.WriteStream): boolean {
  const command = line.split(/\s+/)[0] ?? '';
  const argument = line.slice(command.length).trim();
  switch (command) {
    case '/exit':
    case '/quit':
      return true;
    case '/reset':
      session.reset();
      out.write('(conversation cleared)\n');
      return false;
    case '/system':
      session.setSystemPrompt(argument || undefined);
      out.write(argument ? '(system prompt set)\n' : '(system prompt cleared)\n');
      return false;
    case '/stats':
      out.write(session.lastStats ? `${statsTable(session.lastStats)}\n` : '(no answer yet)\n');
      return false;
    case '/help':
      out.write(`${HELP}\n`);
      return false;
    default:
      out.write(`unknown command ${command}; /help lists the commands\n`);
      return false;
  }
}
