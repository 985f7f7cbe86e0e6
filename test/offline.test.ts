// The offline guarantee: with the model cached, `onboard run` and `onboard serve` work in a network
// namespace that has only loopback (as in a car without a connection), and --offline turns any
// attempt to fetch into a typed error instead of a wait.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertFriendly, cliPath, defaultModelPath, repoRoot, runCli, type CliResult } from './helpers.js';

const canIsolate = process.getuid?.() === 0 && spawnSync('unshare', ['-n', 'ip', 'link', 'set', 'lo', 'up']).status === 0;
let dir: string;

before(async () => {
  await defaultModelPath(); // cached before the network goes away
  dir = await mkdtemp(join(tmpdir(), 'onboard-offline-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Runs a command in a fresh network namespace whose only interface is loopback, brought up. */
function isolated(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('no network at all', { skip: canIsolate ? false : 'needs root and unshare/ip to make a loopback-only network namespace' }, () => {
  it('the namespace really has no route out', async () => {
    const probe = await isolated([process.execPath, '-e', "fetch('http://1.1.1.1', { signal: AbortSignal.timeout(5000) }).then(() => process.exit(0), () => process.exit(3))"]);
    assert.equal(probe.code, 3);
  });

  it('onboard run answers from the cache', async () => {
    const result = await isolated([process.execPath, cliPath, 'run', '--json', '--backend', 'cpu', '--max-tokens', '8', 'Hello']);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(JSON.parse(result.stdout).stats.decodeTokens > 0);
  });

  it('onboard serve answers an HTTP client on loopback', async () => {
    const result = await isolated([process.execPath, join(repoRoot, 'test', 'fixtures', 'offline-probe.mjs'), cliPath, join(dir, 'offline.db')]);
    assert.equal(result.code, 0, result.stderr);
    const { status, body } = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as { status: number; body: { usage: { completion_tokens: number } } };
    assert.equal(status, 200);
    assert.ok(body.usage.completion_tokens > 0);
  });
});

describe('--offline', () => {
  it('a model that is not cached is NETWORK_DISABLED at once, from the flag or the environment', async () => {
    const env = { ONBOARD_CACHE_DIR: join(dir, 'empty-cache'), HF_ENDPOINT: 'http://10.255.255.1' };
    const started = Date.now();
    assertFriendly(await runCli(['--offline', 'run', 'Hello'], { env }), 'NETWORK_DISABLED', 4);
    assertFriendly(await runCli(['models', 'pull'], { env: { ...env, ONBOARD_OFFLINE: '1' } }), 'NETWORK_DISABLED', 4);
    assert.ok(Date.now() - started < 20_000, 'no network timeout was waited for');
  });
});
