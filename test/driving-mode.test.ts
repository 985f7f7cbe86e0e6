import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot, startServerProcess, type ServerProcess } from './helpers.js';

const SECRET = 'vehicle-secret-for-tests';
/** Where the screenshots go, for a person to look at (git ignores the folder). */
const SHOTS = join(repoRoot, 'test-results', 'driving-mode');

const DRIVING = { requiresDistractionOptimization: true, restrictions: ['NO_KEYBOARD', 'LIMIT_STRING_LENGTH', 'LIMIT_CONTENT', 'NO_SETUP'], maxStringLength: 40, maxContentItems: 2 };
const PARKED = { requiresDistractionOptimization: false, restrictions: [] };

describe('driving mode: the UI follows the car\'s UX restrictions', () => {
  let server: ServerProcess;
  let browser: Browser;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onboard-driving-'));
    await mkdir(SHOTS, { recursive: true });
    server = await startServerProcess(['--db', join(dir, 'db.sqlite'), '--vehicle-token', SECRET]);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'] });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const post = (body: unknown, token: string | undefined = SECRET) =>
    fetch(`${server.url}/api/vehicle/ux-restrictions`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { 'x-vehicle-token': token } : {}) }, body: JSON.stringify(body) });

  test('only the vehicle integration, with its secret, sets the restrictions; a bad body names its field', async () => {
    assert.equal((await post(DRIVING, '')).status, 401);
    assert.equal((await post(DRIVING, 'wrong')).status, 401);
    const bad = await post({ ...DRIVING, restrictions: ['NO_FUN'] });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { param: string } }).error.param, /restrictions/);
    assert.deepEqual(await (await fetch(`${server.url}/api/vehicle/ux-restrictions`)).json(), { requiresDistractionOptimization: false, restrictions: [], maxStringLength: 120, maxContentItems: 2 });
  });

  for (const [width, height] of [[1280, 720], [1920, 720]] as const) {
    test(`${width}x${height}: parked, then driving (live, no reload), then parked again`, async () => {
      assert.equal((await post(PARKED)).status, 200);
      const page = await browser.newPage({ viewport: { width, height } });
      try {
        await page.goto(server.url);
        await page.waitForFunction(() => document.body.dataset.state === 'idle', undefined, { timeout: 60_000 });
        assert.ok(await page.isVisible('#prompt'), 'parked: text entry');
        assert.equal(await page.isVisible('#presets'), false);

        // A first exchange while parked, typed.
        await page.fill('#prompt', 'Describe a long scenic drive along the coast in a few sentences.');
        await page.press('#prompt', 'Enter');
        await page.waitForFunction(() => document.body.dataset.state === 'idle' && document.querySelectorAll('.message.assistant').length >= 1, undefined, { timeout: 120_000 });
        const stored = await storedAnswers(page);
        await page.screenshot({ path: join(SHOTS, `${width}x${height}-parked.png`) });
        const parkedShot = await page.screenshot();

        assert.equal((await post(DRIVING)).status, 200);
        await page.waitForFunction(() => document.body.hasAttribute('data-no-keyboard'), undefined, { timeout: 10_000 });
        assert.equal(await page.isVisible('#prompt'), false, 'driving: no text entry');
        assert.equal(await page.isVisible('#settings-toggle'), false, 'NO_SETUP: no settings');
        assert.equal(await page.isVisible('.sidebar'), false, 'LIMIT_CONTENT: no conversation list');
        const presets = await page.$$eval('#presets button', (buttons) => buttons.map((b) => b.getBoundingClientRect().height));
        assert.ok(presets.length >= 2 && presets.every((h) => h >= 96), `large presets: ${presets.join(', ')}`);
        await checkDrivingLayout(page, stored.at(-1)!);

        // A preset while driving: the new answer streams, cut to the allowed length.
        await page.click('#presets button');
        await page.waitForFunction(() => document.body.dataset.state === 'idle' && document.querySelectorAll('.message.assistant').length >= 1, undefined, { timeout: 120_000 });
        await page.waitForFunction((n) => document.querySelectorAll('.message').length <= n, DRIVING.maxContentItems);
        const afterPreset = await storedAnswers(page);
        assert.ok(afterPreset.length > stored.length, 'the preset was asked and answered');
        await checkDrivingLayout(page, afterPreset.at(-1)!);
        await page.screenshot({ path: join(SHOTS, `${width}x${height}-driving.png`) });
        assert.ok(!parkedShot.equals(await page.screenshot()), 'the two states look different');

        assert.equal((await post(PARKED)).status, 200);
        await page.waitForFunction(() => !document.body.hasAttribute('data-no-keyboard'), undefined, { timeout: 10_000 });
        assert.ok(await page.isVisible('#prompt'));
        const full = await page.$$eval('.message.assistant .content', (nodes) => nodes.map((n) => n.textContent ?? ''));
        assert.equal(full.at(-1), afterPreset.at(-1), 'parked again: the whole answer');
      } finally {
        await page.close();
      }
    });
  }
});

/** The answers the server keeps for the page's conversation (what "when parked" shows). */
async function storedAnswers(page: Page): Promise<string[]> {
  return page.evaluate(async () => {
    const id = localStorage.getItem('onboard-conversation');
    const conversation = (await (await fetch(`/api/conversations/${id}`)).json()) as { messages: Array<{ role: string; content: string }> };
    return conversation.messages.filter((m) => m.role === 'assistant').map((m) => m.content);
  });
}

/** While driving: text within the allowed length (the rest announced for when parked), and nothing to scroll. */
async function checkDrivingLayout(page: Page, fullAnswer: string): Promise<void> {
  const shown = await page.$$eval('.message .content', (nodes) => nodes.map((n) => n.textContent ?? ''));
  assert.ok(shown.length <= DRIVING.maxContentItems, `at most ${DRIVING.maxContentItems} items, got ${shown.length}`);
  for (const text of shown) assert.ok(text.length <= DRIVING.maxStringLength, `"${text}" within ${DRIVING.maxStringLength} characters`);
  if (fullAnswer.length > DRIVING.maxStringLength) assert.ok(await page.isVisible('.message.assistant .parked-note'), 'the rest is announced for when parked');
  const scroll = await page.$eval('#messages', (list) => ({ scrollHeight: list.scrollHeight, clientHeight: list.clientHeight, overflow: getComputedStyle(list).overflowY }));
  assert.equal(scroll.overflow, 'hidden', 'the list never scrolls while driving');
  const page1 = await page.evaluate(() => ({ scrollHeight: document.documentElement.scrollHeight, innerHeight }));
  assert.ok(page1.scrollHeight <= page1.innerHeight, 'the page itself does not scroll');
}
