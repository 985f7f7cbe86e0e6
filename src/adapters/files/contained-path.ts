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
 * `root/<name>` for a name that must be one id of the cache grammar. The grammar
 * admits no separator and no name starting with "." (so never "", "." or ".."),
 * so the joined path is always one entry directly under root.
 */
export function childPath(root: string, name: string, what: string): string {
  return join(root, assertModelId(name, what));
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
