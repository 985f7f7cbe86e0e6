import type { Command } from 'commander';
import { REQUIREMENTS_FILE, setUpNativeRuntime, setUpToolchain } from '../../../app/setup.js';
import { InvalidOptionError } from '../../../core/errors.js';

const log = (line: string) => process.stderr.write(`  ${line}\n`);

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .argument('<what>', 'runtime (the native ExecuTorch runtime, no Python at run time) or executorch (the export toolchain, and the runtime)')
    .description('Install the native ExecuTorch runtime, or the Python toolchain for model export')
    .addHelpText(
      'after',
      `\nruntime:    fetches the executorch wheel alone (pip download --no-deps, about 19 MB; no torch), keeps its libraries and
            headers in $ONBOARD_RUNTIME_DIR (default ~/.cache/onboard/runtime) and builds onboard's addon with
            node-gyp (needs g++ and make). Shared by every install of onboard for this user.
executorch: installs ${REQUIREMENTS_FILE} into a virtual environment in ~/.cache/onboard/toolchain (or
            $ONBOARD_VENV; about 4 GB, for export; shared by installs pinning the same packages), then the runtime.
Both are safe to re-run; pip reuses its download cache.`,
    )
    .action(async (what: string) => {
      if (what !== 'executorch' && what !== 'runtime') throw new InvalidOptionError('<what>', `"${what}" is not something to set up; use: runtime, executorch`);
      const started = Date.now();
      const report = { log, onStep: (line: string) => process.stderr.write(`${line}\n`) };
      if (what === 'executorch') {
        const ready = await setUpToolchain(report);
        process.stdout.write(`executorch toolchain ready in ${ready.venvDir}\n`);
      }
      const ready = await setUpNativeRuntime(report);
      process.stdout.write(`native ExecuTorch runtime ready: ${ready.addonPath} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
    });
}
