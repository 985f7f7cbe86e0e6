import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * This user's cache folder for onboard: `$XDG_CACHE_HOME/onboard`, else `~/.cache/onboard`.
 * The model cache lives here unless `$ONBOARD_CACHE_DIR` moves it; the ExecuTorch runtime
 * and toolchain always do (unless their own variables move them), so a model cache kept
 * elsewhere, or a scratch one, still finds the runtime installed once per user.
 */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'onboard');
}
