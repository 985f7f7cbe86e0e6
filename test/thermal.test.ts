import assert from 'node:assert/strict';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { readThermalZones, thermalMonitor } from '../src/adapters/system/thermal-zones.js';
import { performanceClock } from '../src/adapters/system/clock.js';
import { processMemoryProbe } from '../src/adapters/system/process-memory.js';
import { ThermalCriticalError } from '../src/core/errors.js';
import { ModelRunner } from '../src/core/model-runner.js';
import { thermalStateOf } from '../src/core/thermal.js';
import type { GenerationStats } from '../src/core/types.js';
import { loadDefaultModel, repoRoot, startServerProcess } from './helpers.js';

const FIXTURE = `${repoRoot}/test/fixtures/thermal`;

describe('thermal awareness', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'onboard-thermal-'));
    await cp(FIXTURE, root, { recursive: true });
  });
  after(() => rm(root, { recursive: true, force: true }));
  const heat = (millidegrees: number) => writeFile(join(root, 'thermal_zone0', 'temp'), `${millidegrees}\n`);

  test('the zones are read as sysfs lays them out: type, temperature and trip points; cooling devices skipped', async () => {
    await heat(45_000);
    const zones = readThermalZones(root);
    assert.deepEqual(zones.map((z) => z.type).sort(), ['battery', 'cpu-thermal']);
    const cpu = zones.find((z) => z.type === 'cpu-thermal')!;
    assert.equal(cpu.tempC, 45);
    assert.deepEqual(cpu.trips, [{ type: 'passive', tempC: 80 }, { type: 'critical', tempC: 95 }]);
    assert.deepEqual(readThermalZones(join(root, 'missing')), []);
  });

  test('the state: normal below the passive trip point, throttled from it, critical from the critical one', () => {
    const zone = (tempC: number) => [{ type: 'cpu', tempC, trips: [{ type: 'passive', tempC: 80 }, { type: 'critical', tempC: 95 }] }, { type: 'battery', tempC: 31, trips: [] }];
    assert.equal(thermalStateOf(zone(79.9)).state, 'normal');
    assert.deepEqual(thermalStateOf(zone(80)).zone, { type: 'cpu', tempC: 80, tripC: 80, tripType: 'passive' });
    assert.equal(thermalStateOf(zone(80)).state, 'throttled');
    assert.equal(thermalStateOf(zone(96)).state, 'critical');
    assert.equal(thermalStateOf([]).state, 'normal');
  });

  test('with the real model: a throttled answer pauses after its tokens and says so; a critical device refuses', async () => {
    const model = await loadDefaultModel();
    const monitor = thermalMonitor(root, 20);
    const runner = new ModelRunner(model, 1, { memory: processMemoryProbe, clock: performanceClock, thermal: monitor });
    const answer = async (): Promise<GenerationStats> => {
      for await (const chunk of runner.chat([{ role: 'user', content: 'Count to five.' }], { maxTokens: 8, sampling: { temperature: 0 } })) if (chunk.type === 'done') return chunk.stats;
      throw new Error('no answer');
    };
    const settle = () => new Promise((r) => setTimeout(r, 100));
    try {
      await heat(45_000);
      await settle();
      const cool = await answer();
      assert.deepEqual([cool.thermal?.state, cool.thermal?.throttledTokens], ['normal', 0]);
      await heat(85_000);
      await settle();
      const warm = await answer();
      assert.equal(warm.thermal?.state, 'throttled');
      assert.equal(warm.thermal?.zone, 'cpu-thermal');
      assert.ok(warm.thermal!.throttledTokens > 0 && warm.thermal!.throttledTokens <= warm.decodeTokens + 1, JSON.stringify(warm.thermal));
      await heat(97_000);
      await settle();
      assert.throws(() => runner.chat([{ role: 'user', content: 'Hi' }]), (error: unknown) => error instanceof ThermalCriticalError && /97\.0 °C/.test(error.message));
      await heat(45_000);
      await settle();
      assert.equal((await answer()).thermal?.state, 'normal', 'answers resume once it cools');
    } finally {
      monitor.stop();
      await runner.close();
    }
  });

  test('the server: /health, /metrics and the UI show the state; a critical device gets 503 with Retry-After', async () => {
    await heat(45_000);
    const server = await startServerProcess([], { ONBOARD_THERMAL_ROOT: root });
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'] });
    try {
      const health = async () => ((await (await fetch(`${server.url}/health`)).json()) as { thermal: { state: string } }).thermal.state;
      assert.equal(await health(), 'normal');
      const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
      await page.goto(server.url);
      await page.waitForFunction(() => document.body.dataset.thermal === 'normal');
      assert.equal(await page.isVisible('#thermal'), false);

      await heat(97_000);
      for (const until = Date.now() + 5000; (await health()) !== 'critical' && Date.now() < until; ) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await health(), 'critical');
      const refused = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 }) });
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '30');
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'thermal_critical');
      assert.match(await (await fetch(`${server.url}/metrics`)).text(), /onboard_thermal_state 2/);
      await page.waitForSelector('#thermal:not([hidden])', { timeout: 10_000 });
      assert.match(await page.textContent('#thermal') ?? '', /Too hot.*cpu-thermal 97 °C/);

      await heat(45_000);
      for (const until = Date.now() + 5000; (await health()) !== 'normal' && Date.now() < until; ) await new Promise((r) => setTimeout(r, 100));
      const resumed = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 }) });
      assert.equal(resumed.status, 200);
    } finally {
      await browser.close();
      await server.stop();
    }
  });
});
