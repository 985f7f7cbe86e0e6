import type { Command } from 'commander';
import { inspectModelFile } from '../../../adapters/model-file.js';
import { formatRows, ggufRows, pteRows } from '../model-file-view.js';
import { out } from '../terminal.js';

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .argument('<file>', 'a .pte or .gguf file')
    .description('What a model file holds: for .pte the methods, inputs and outputs, delegate backends, operators, memory plan and LLM metadata; for GGUF the architecture, tensors, quantization and tokenizer')
    .option('--json', 'machine-readable output')
    .action(async (file: string, flags: { json?: boolean }) => {
      const summary = await inspectModelFile(file);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        return;
      }
      out(formatRows(summary.format === 'pte' ? pteRows(summary) : ggufRows(summary)));
    });
}
