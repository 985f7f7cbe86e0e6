// A test-only Python virtual environment with the clients of test/python/requirements.txt,
// outside the repository and keyed by that file's hash, so later runs reuse it.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const requirements = new URL('./requirements.txt', import.meta.url);

export async function pythonClients(): Promise<string> {
  const pins = await readFile(requirements);
  const dir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'onboard', `test-venv-${createHash('sha256').update(pins).digest('hex').slice(0, 12)}`);
  const python = join(dir, 'bin', 'python');
  const done = join(dir, '.installed');
  if (!existsSync(done)) {
    await rm(dir, { recursive: true, force: true });
    await run(process.env.ONBOARD_PYTHON || 'python3', ['-m', 'venv', dir]);
    await run(python, ['-m', 'pip', 'install', '--quiet', '-r', requirements.pathname], { maxBuffer: 1 << 24 });
    await run(python, ['-c', `open(${JSON.stringify(done)}, "w").close()`]);
  }
  return python;
}
