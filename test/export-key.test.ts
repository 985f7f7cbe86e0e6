// An export is reused while its key is unchanged, and the key hashes the Python files an export
// runs (EXPORT_SCRIPTS, plus the family's converter). A module the export imports but the list
// leaves out would let a changed program be served from the cache: every module reachable from
// export.py by relative imports must be in the list.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXPORT_SCRIPTS } from '../src/adapters/executorch/exporter.js';
import { repoRoot } from './helpers.js';

const PACKAGE = join(repoRoot, 'python', 'onboard_executorch');

/** The package's top-level modules a file imports relatively (`from .x import`, `from . import x, y`). */
function importsOf(file: string): string[] {
  const source = readFileSync(join(PACKAGE, file), 'utf8');
  const modules = [...source.matchAll(/^\s*from \.(\w+)[\w.]* import /gm)].map((m) => m[1]!);
  for (const m of source.matchAll(/^\s*from \. import ([\w, ]+)$/gm)) modules.push(...m[1]!.split(',').map((name) => name.trim()));
  return modules;
}

describe('the export key', () => {
  it('covers every module the export reaches from export.py (the architectures package is keyed per family)', () => {
    const reached = new Set<string>();
    const queue = ['export'];
    while (queue.length > 0) {
      const module = queue.shift()!;
      if (reached.has(module) || module === 'architectures') continue;
      reached.add(module);
      queue.push(...importsOf(`${module}.py`));
    }
    assert.ok(reached.has('smoothing') && reached.has('parity'), [...reached].join(', '));
    const missing = [...reached].filter((module) => !EXPORT_SCRIPTS.includes(`${module}.py`));
    assert.deepEqual(missing, [], `modules an export runs but its key does not hash: ${missing.join(', ')}`);
  });
});
