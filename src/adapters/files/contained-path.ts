import { realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { PathOutsideRootError } from '../../core/errors.js';
import { assertModelId } from '../../core/model-id.js';

/** True when `path` is `root` itself or lies under it (both already resolved). */
function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * `root/<name>` for a name that must be one id of the cache grammar: the name
 * is checked first (so "..", "a/b", "" or NUL never reach the filesystem), then
 * the joined path is checked to stay under root.
 */
export function childPath(root: string, name: string, what: string): string {
  assertModelId(name, what);
  const path = join(root, name);
  if (!isInside(resolve(root), resolve(path)) || resolve(path) === resolve(root)) throw new PathOutsideRootError(path, root);
  return path;
}

/**
 * Follows symlinks and checks the real path stays under the real root, so a
 * link placed in the cache cannot make onboard read or write elsewhere.
 * Returns the real path; a path that does not exist resolves as itself.
 */
export async function assertRealPathInside(root: string, path: string): Promise<string> {
  const realRoot = await realpath(root).catch(() => resolve(root));
  const real = await realpath(path).catch(() => resolve(path));
  if (!isInside(realRoot, real)) throw new PathOutsideRootError(path, root);
  return real;
}
