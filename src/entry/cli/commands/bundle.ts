import { Command } from 'commander';
import type { App } from '../../../app/composition.js';
import { verifyBundle } from '../../../app/bundle.js';
import { InvalidOptionError } from '../../../core/errors.js';
import { formatBytes } from '../format.js';
import { out } from '../terminal.js';

export function registerBundle(program: Command, app: () => App): void {
  program
    .command('bundle')
    .argument('[model]', 'an installed model id (a .pte export, or a GGUF)')
    .description('Write the files an Android app loads (the .pte, tokenizer.json, tokenizer_config.json) with a manifest of sizes and sha256; or check a copied bundle with --verify')
    .option('-o, --out <dir>', 'a new folder for the bundle')
    .option('--encrypt', 'encrypt the model file with the model key (--key-file or ONBOARD_MODEL_KEY) as it is copied')
    .option('--verify <dir>', 'check a bundle: every file of its manifest present, with its size and sha256')
    .option('--json', 'print the manifest as JSON')
    .action(async (model: string | undefined, flags: { out?: string; encrypt?: boolean; verify?: string; json?: boolean }) => {
      if (flags.verify) {
        const { manifest, extraFiles } = await verifyBundle(flags.verify);
        if (flags.json) process.stdout.write(`${JSON.stringify({ ok: true, manifest, extraFiles }, null, 2)}\n`);
        else out(`ok: ${flags.verify} holds ${manifest.model} (${manifest.files.map((f) => `${f.name} ${formatBytes(f.bytes)}`).join(', ')}), every sha256 matches${extraFiles.length ? `; not in the manifest: ${extraFiles.join(', ')}` : ''}\n`);
        return;
      }
      if (!model) throw new InvalidOptionError('model', 'name the installed model to bundle (`onboard models list`), or pass --verify <dir>');
      if (!flags.out) throw new InvalidOptionError('--out', 'give a new folder for the bundle');
      const { dir, manifest } = await app().bundle({ id: model, out: flags.out, ...(flags.encrypt ? { encrypt: true } : {}) });
      if (flags.json) process.stdout.write(`${JSON.stringify({ dir, manifest }, null, 2)}\n`);
      else out(`bundled ${manifest.model} into ${dir}${manifest.encryption ? ' (encrypted)' : ''}:\n${manifest.files.map((f) => `  ${f.name}  ${formatBytes(f.bytes)}  sha256 ${f.sha256}`).join('\n')}\n`);
    });
}
