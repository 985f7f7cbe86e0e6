import type { Command } from 'commander';
import type { App } from '../../../app/composition.js';
import { addGenerationOptions, parseGenerationFlags, type GenerationFlags } from '../options.js';
import { statsLine, statsTable } from '../format.js';

export function registerRun(program: Command, app: () => App): void {
  addGenerationOptions(program.command('run').argument('<prompt>', 'what to ask').description('Answer one prompt, streaming the answer to stdout'))
    .option('--json', 'print one JSON object with the text and the stats instead of streaming')
    .option('--stats', 'print the stats to stderr after the answer')
    .addHelpText(
      'after',
      `
Examples:
  onboard run "What is the capital of France?"
  onboard run --temperature 0 --max-tokens 64 "Explain KV caches in one sentence"
  onboard run --json --seed 42 "Name three colours" | jq .stats
  onboard run --model ./my-model.gguf --backend vulkan "Hello"`,
    )
    .action(async (prompt: string, flags: GenerationFlags & { json?: boolean; stats?: boolean }) => {
      const options = parseGenerationFlags(flags);
      const abort = new AbortController();
      const onInterrupt = () => abort.abort();
      process.once('SIGINT', onInterrupt);
      try {
        const session = await app().openChat({ ...options, signal: abort.signal });
        // Closed on failure too: an ExecuTorch host process would otherwise keep the CLI alive.
        try {
          for await (const chunk of session.send(prompt, { signal: abort.signal })) {
            if (chunk.type === 'text') {
              if (!flags.json) process.stdout.write(chunk.text);
            } else if (flags.json) {
              process.stdout.write(`${JSON.stringify({ text: chunk.text, stats: chunk.stats })}\n`);
            } else {
              process.stdout.write('\n');
              if (flags.stats) process.stderr.write(`${statsTable(chunk.stats)}\n`);
              else if (process.stderr.isTTY) process.stderr.write(`\x1b[2m${statsLine(chunk.stats)}\x1b[0m\n`);
              if (chunk.stats.stopReason === 'abort') process.exitCode = 130;
            }
          }
        } finally {
          await session.runner.close();
        }
      } finally {
        process.removeListener('SIGINT', onInterrupt);
      }
    });
}
