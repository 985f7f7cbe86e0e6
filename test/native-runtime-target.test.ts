// The native addon is compiled for one CPU (-march): its folder names that CPU, so a runtime
// folder shared by two machines (a network home, a container image) never hands one machine
// the other's build, which would stop with SIGILL on the first instruction it lacks.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { addonTarget, nativeRuntimeState, setupNativeRuntime } from '../src/adapters/executorch/native-runtime.js';
import { InvalidOptionError } from '../src/core/errors.js';
import { exportedPte, repoRoot } from './helpers.js';

/** AVX-512 instructions name zmm registers; AVX2 ones never do. */
function zmmInstructions(library: string): number {
  const disassembly = spawnSync('objdump', ['-d', '--no-show-raw-insn', library], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(disassembly.status, 0, disassembly.stderr);
  return disassembly.stdout.split('\n').filter((line) => line.includes('%zmm')).length;
}

/** Greedy next token after each of the first positions of a text, through the addon built for `march`, in a process of its own. */
function top1With(march: string, pte: string): number[] {
  const script = `import { nativeTop1 } from './src/bench/native-top1.ts';
const ids = Array.from({ length: 24 }, (_, i) => 1000 + 37 * i);
process.stdout.write(JSON.stringify(await nativeTop1(${JSON.stringify(pte)}, ids)));`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, ONBOARD_ADDON_MARCH: march }, timeout: 120_000 });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as number[];
}

describe('the CPU the native addon is built for', () => {
  it('is this machine by default, named by a hash of its model and flags; a named target gets its own folder', async () => {
    const env = { ONBOARD_RUNTIME_DIR: '/nonexistent/onboard-runtime' };
    const native = await nativeRuntimeState(env);
    const haswell = await nativeRuntimeState({ ...env, ONBOARD_ADDON_MARCH: 'haswell' });
    assert.match(native.addonPath, /\/addon-node\d+-native-[0-9a-f]{8}-[0-9a-f]{16}\//);
    assert.match(haswell.addonPath, /\/addon-node\d+-haswell-[0-9a-f]{16}\//);
    assert.equal(native.state, 'missing');
    assert.equal(addonTarget({}), 'native');
  });

  it('refuses a target that is not a plain CPU name, before anything reaches the compiler', async () => {
    for (const bad of ['native -fplugin=evil.so', '../x', '-O0']) {
      assert.throws(() => addonTarget({ ONBOARD_ADDON_MARCH: bad }), (error: unknown) => error instanceof InvalidOptionError && error.code === 'INVALID_OPTION');
      await assert.rejects(nativeRuntimeState({ ONBOARD_ADDON_MARCH: bad }), InvalidOptionError);
    }
  });

  it('builds for a named CPU with none of the newer instructions, and that build runs the default program as the native one does', { timeout: 600_000 }, async () => {
    const pte = await exportedPte();
    const portable = await setupNativeRuntime({ log: () => {}, env: { ...process.env, ONBOARD_ADDON_MARCH: 'x86-64-v3' } });
    assert.match(portable.addonPath, /-x86-64-v3-/);
    assert.equal(zmmInstructions(portable.addonPath), 0, 'an x86-64-v3 (AVX2) build has no AVX-512 instruction');
    const mine = top1With('native', pte);
    const theirs = top1With('x86-64-v3', pte);
    assert.equal(theirs.length, 24);
    // Vectors of another width sum in another order, so a near-tie may fall the other way.
    const same = mine.filter((token, i) => token === theirs[i]).length;
    assert.ok(same >= 20, `${same}/24 positions agree (native ${mine.join(',')} / x86-64-v3 ${theirs.join(',')})`);
  });
});
