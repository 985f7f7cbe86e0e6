import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { ChatSession } from '../../../core/chat-session.js';
import type { ToolCall } from '../../../core/types.js';
import type { App, OpenChatOptions } from '../../../app/composition.js';
import { describeError, statsLine, statsTable } from '../format.js';
import { addGenerationOptions, parseGenerationFlags, type GenerationFlags } from '../options.js';

const HELP = `Commands:
  /reset          forget the conversation (the system prompt stays)
  /system <text>  set the system prompt (/system alone clears it)
  /stats          stats of the last answer
  /help           this list
  /exit           leave (or Ctrl-D; Ctrl-C twice at the prompt)
Ctrl-C while an answer streams stops it and keeps the conversation.
With --tools, an answer may call functions: type each call's result (text or JSON)
at its prompt, and the model answers with them.`;

export function registerChat(program: Command, app: () => App): void {
  addGenerationOptions(program.command('chat').description('Chat in the terminal, streaming each answer'))
    .addHelpText('after', `\n${HELP}\n\nExamples:\n  onboard chat\n  onboard chat --system "You answer in one sentence." --temperature 0.2\n  onboard chat --tools tools.json --tool-choice auto`)
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

  let pending: ToolCall[] = [];
  const results: Array<{ callId: string; content: string }> = [];
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
      // With --tools, an answer may be calls: each call's result is the next line typed.
      if (pending.length > 0) {
        results.push({ callId: pending.shift()!.id, content: line });
        if (pending.length > 0) {
          rl.setPrompt(`${pending[0]!.name} result> `);
          rl.prompt();
          continue;
        }
      }
      answering = new AbortController();
      try {
        const turn = results.length > 0 ? session.sendToolResults(results.splice(0), { signal: answering.signal, toolChoice: 'auto' }) : session.send(line, { signal: answering.signal });
        for await (const chunk of turn) {
          if (chunk.type === 'text') out.write(chunk.text);
          else {
            out.write(chunk.stats.stopReason === 'abort' ? ' [stopped]\n' : '\n');
            err.write(`${dim(statsLine(chunk.stats))}\n`);
            for (const call of chunk.toolCalls ?? []) err.write(`call ${call.name}(${JSON.stringify(call.arguments)}): type its result\n`);
            pending = [...(chunk.toolCalls ?? [])];
          }
        }
      } catch (error) {
        // The conversation survives a failed answer: report it and keep going.
        err.write(`${describeError(error).text}\n`);
        pending = [];
      } finally {
        answering = undefined;
      }
      rl.setPrompt(pending.length > 0 ? `${pending[0]!.name} result> ` : '> ');
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
