import type { Command } from 'commander';
import type { App } from '../../../app/composition.js';
import { fileRows, formatRows } from '../model-file-view.js';
import { out } from '../terminal.js';

export function registerInspect(program: Command, app: () => App): void {
  program
    .command('inspect')
    .argument('<file>', 'a .pte or .gguf file')
    .description('What a model file holds: for .pte the methods, inputs and outputs, delegate backends, operators, memory plan and LLM metadata; for GGUF the architecture, tensors, quantization and tokenizer')
    .option('--json', 'machine-readable output')
    .action(async (file: string, flags: { json?: boolean }) => {
      const summary = await app().models.inspect(file);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        return;
      }
      out(formatRows(fileRows(summary)));
    });
}
