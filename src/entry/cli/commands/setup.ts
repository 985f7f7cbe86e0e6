import type { Command } from 'commander';
import { REQUIREMENTS_FILE, setupToolchain, toolchainState } from '../../../adapters/executorch/toolchain.js';
import { InvalidOptionError } from '../../../core/errors.js';

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .argument('<toolchain>', 'what to set up: executorch')
    .description('Set up the Python toolchain for model export (a virtual environment with pinned executorch, torch, transformers)')
    .addHelpText('after', `\nInstalls ${REQUIREMENTS_FILE} into .venv (or $ONBOARD_VENV). Safe to re-run; pip reuses its download cache.`)
    .action(async (toolchain: string) => {
      if (toolchain !== 'executorch') throw new InvalidOptionError('<toolchain>', `"${toolchain}" is not a toolchain; use: executorch`);
      const before = await toolchainState();
      process.stderr.write(before.state === 'ready' ? `checking ${before.venvDir} (already set up)\n` : `setting up ${before.venvDir}: ${before.reason}\n`);
      const started = Date.now();
      const ready = await setupToolchain({ log: (line) => process.stderr.write(`  ${line}\n`) });
      process.stdout.write(`executorch toolchain ready in ${ready.venvDir} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
    });
}
