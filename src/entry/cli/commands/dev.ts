import type { Command } from 'commander';
import { GGUF_TYPES, makeSynthetic, SYNTHETIC_ARCHITECTURES, syntheticGguf } from '../../../app/synthetic-checkpoint.js';
import { InvalidOptionError } from '../../../core/errors.js';
import { out, err } from '../terminal.js';

function wholeNumber(option: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidOptionError(option, `"${value}" is not a whole number`);
    return Number(value);
  };
}

export function registerDev(program: Command): void {
  const dev = program.command('dev').description('Tools for developing and testing onboard itself');
  dev
    .command('make-checkpoint')
    .description('Write a SYNTHETIC Hugging Face checkpoint: a published architecture\'s configuration with seeded random weights and a tokenizer of its kind (runs like the real model; its answers mean nothing)')
    .requiredOption('--arch <name>', `architecture: ${SYNTHETIC_ARCHITECTURES.join(', ')}`)
    .requiredOption('--out <dir>', 'the directory to write (config.json, model.safetensors, tokenizer.json, synthetic.json)')
    .option('--layers <n>', 'fewer layers than the published model', wholeNumber('--layers'))
    .option('--vocab <n>', 'a smaller vocabulary than the published model\'s', wholeNumber('--vocab'))
    .option('--seed <n>', 'the random seed (default 0)', wholeNumber('--seed'))
    .option('--json', 'print what was written as JSON')
    .action(async (flags: { arch: string; out: string; layers?: number; vocab?: number; seed?: number; json?: boolean }) => {
      const made = await makeSynthetic(flags, (line) => err(`  ${line}\n`));
      if (flags.json) {
        out(`${JSON.stringify(made, null, 2)}\n`);
        return;
      }
      out(`wrote a SYNTHETIC ${made.architecture} checkpoint (random weights in the shape of ${made.shape_of}) to ${made.path}\n`);
      out(`  ${made.layers} layers, vocabulary ${made.vocab_size}, ${(made.parameters / 1e6).toFixed(1)} M parameters, seed ${made.seed}\n`);
      out(`  export it with base.model_class: ${made.model_class}\n`);
    });
  dev
    .command('to-gguf')
    .description('Convert a SYNTHETIC checkpoint to a GGUF for the llama.cpp engine, with llama.cpp\'s own convert_hf_to_gguf.py (fetched once from the llama-cpp-python source distribution on PyPI)')
    .requiredOption('--checkpoint <dir>', 'a directory `onboard dev make-checkpoint` wrote')
    .requiredOption('--out <file.gguf>', 'the GGUF to write (whole or not at all)')
    .option('--type <type>', `tensor type: ${GGUF_TYPES.join(', ')}`, 'q8_0')
    .action(async (flags: { checkpoint: string; out: string; type: string }) => {
      const written = await syntheticGguf(flags, (line) => err(`  ${line}\n`));
      out(`wrote ${written} (SYNTHETIC: random weights)\n`);
    });
}
