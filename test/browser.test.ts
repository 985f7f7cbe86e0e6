// The web UI in a real browser (Debian's Chromium driven by playwright-core) against the real server and model.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot, startServerProcess, type ServerProcess } from './helpers.js';
import { DEFAULT_MAX_TOKENS, SAMPLING_DEFAULTS, SAMPLING_FIELDS } from '../src/core/sampling.js';

const CHROMIUM = '/usr/bin/chromium';
const artifacts = join(repoRoot, 'test-artifacts');
let dir: string;
let db: string;
let server: ServerProcess;
let browser: Browser;

before(async () => {
  if (!existsSync(CHROMIUM)) return;
  dir = await mkdtemp(join(tmpdir(), 'onboard-ui-'));
  db = join(dir, 'conversations.db');
  await mkdir(artifacts, { recursive: true });
  server = await startServerProcess(['--db', db]);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function openPage(width: number, height: number): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height } });
  const external: string[] = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(server.url)) external.push(request.url());
  });
  page.on('close', () => assert.deepEqual(external, [], 'the UI makes no request beyond the device'));
  await page.goto(server.url);
  await page.waitForSelector('body[data-state="idle"]');
  return page;
}

/** Text lengths of the answer being streamed, sampled on every DOM change until it ends. */
async function watchAnswer(page: Page): Promise<number[]> {
  return page.evaluate(
    () =>
      new Promise<number[]>((resolve) => {
        const lengths: number[] = [];
        let busy = false;
        const observer = new MutationObserver(() => {
          busy ||= document.body.dataset.state !== 'idle';
          const answers = document.querySelectorAll('.message.assistant .content');
          const length = answers[answers.length - 1]?.textContent?.length ?? 0;
          if (length !== lengths.at(-1)) lengths.push(length);
          if (busy && document.body.dataset.state === 'idle') {
            observer.disconnect();
            resolve(lengths);
          }
        });
        observer.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
      }),
  );
}

describe('web chat UI', { skip: existsSync(CHROMIUM) ? false : `no ${CHROMIUM} (apt-get install chromium)` }, () => {
  it('streams an answer in several steps and shows its stats', async () => {
    const page = await openPage(1280, 720);
    await page.fill('#prompt', 'Write a short poem about the sea.');
    const watching = watchAnswer(page);
    await page.press('#prompt', 'Enter');
    const lengths = await watching;
    assert.ok(lengths.length >= 5, `the answer grew in ${lengths.length} steps`);
    assert.ok(lengths.every((n, i) => i === 0 || n >= lengths[i - 1]!), 'text only grows');
    await page.waitForSelector('.message.assistant .meta:has-text("tok/s")');
    assert.match(await page.textContent('#model') ?? '', /llama\.cpp on cpu/);
    await page.screenshot({ path: join(artifacts, 'ui-1280x720.png') });
    await page.close();
  });

  it('stops an answer mid-stream and keeps what was written', async () => {
    const page = await openPage(1280, 720);
    await page.click('#new-chat');
    await page.waitForSelector('#messages .empty');
    // Greedy, so the answer is the same long count every run and cannot end before we stop it.
    await page.click('#settings-toggle');
    await page.fill('#temperature', '0');
    await page.fill('#max-tokens', '2000');
    await page.click('#settings-save');
    await page.waitForSelector('#settings', { state: 'hidden' });
    await page.fill('#prompt', 'Write a long story about a lighthouse keeper who finds a message in a bottle.');
    await page.press('#prompt', 'Enter');
    await page.waitForSelector('body[data-state="answering"]');
    await page.waitForFunction(() => (document.querySelector('.message.assistant:last-child .content')?.textContent?.length ?? 0) > 20);
    await page.click('#send'); // the send button is the stop button while answering
    await page.waitForSelector('body[data-state="idle"]');
    await page.waitForSelector('.message.assistant.incomplete');
    const kept = await page.textContent('.message.assistant.incomplete .content');
    assert.ok((kept ?? '').length > 20);
    await page.close();
  });

  it('answers the last message again with "Again"', async () => {
    const page = await openPage(1280, 720);
    await page.click('#conversations button:has-text("Write a short poem about the sea.")');
    await page.waitForSelector('.message.assistant .meta:has-text("tok/s")');
    const watching = watchAnswer(page);
    await page.click('#regenerate');
    const lengths = await watching;
    assert.ok(lengths.length >= 3, 'the new answer streams');
    assert.equal(await page.locator('.message.assistant').count(), 1, 'the old answer was replaced, not added to');
    await page.close();
  });

  it('says plainly what to do when the model file is missing', async () => {
    const broken = await startServerProcess(['--db', join(dir, 'broken.db'), '--model', join(dir, 'missing.gguf')], {}, false);
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
      await page.goto(broken.url);
      await page.waitForSelector('body[data-state="error"]');
      assert.equal(await page.textContent('#error-title'), 'The model file is missing.');
      assert.match((await page.textContent('#error-hint')) ?? '', /onboard models pull/);
      await page.screenshot({ path: join(artifacts, 'ui-error-1280x720.png') });
      await page.close();
    } finally {
      await broken.stop();
    }
  });

  it('finds the conversations again after a reload and after a server restart', async () => {
    const page = await openPage(1280, 720);
    const titles = await page.locator('#conversations button').allTextContents();
    assert.ok(titles.some((t) => t.startsWith('Write a long story about a lighthouse keeper')), `titles: ${titles.join(' | ')}`);
    await page.reload();
    await page.waitForSelector('body[data-state="idle"]');
    await page.waitForSelector('.message.assistant');
    assert.ok((await page.locator('.message').count()) >= 2);
    await page.close();

    await server.stop();
    server = await startServerProcess(['--db', db]);
    const after = await openPage(1920, 720);
    await after.click('#conversations button:has-text("Write a short poem about the sea.")');
    await after.waitForSelector('.message.user:has-text("Write a short poem about the sea.")');
    assert.equal(await after.locator('.message.assistant').count(), 1);
    await after.screenshot({ path: join(artifacts, 'ui-1920x720.png') });
    await after.close();
  });

  it('is made for touch and keyboard: 48 px targets, focusable controls, settings that apply', async () => {
    for (const [width, height] of [
      [1280, 720],
      [1920, 720],
    ] as const) {
      const page = await openPage(width, height);
      await page.click('#settings-toggle');
      const small = await page.evaluate(() =>
        [...document.querySelectorAll('button, input, textarea')]
          .filter((el) => (el as HTMLElement).offsetParent !== null)
          .map((el) => ({ id: el.id || el.textContent, box: el.getBoundingClientRect() }))
          .filter(({ box }) => box.width < 48 || box.height < 48)
          .map(({ id }) => id),
      );
      assert.deepEqual(small, [], `touch targets under 48 px at ${width}x${height}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth || document.documentElement.scrollHeight > window.innerHeight);
      assert.equal(overflow, false, `nothing spills off a ${width}x${height} screen`);
      await page.close();
    }

    const page = await openPage(1280, 720);
    await page.click('#new-chat');
    await page.waitForSelector('#messages .empty');
    await page.click('#settings-toggle');
    // The inputs' defaults and ranges come from the core's sampling contract, through /api/info.
    const temperature = await page.$eval('#temperature', (el) => ({ value: (el as HTMLInputElement).value, min: (el as HTMLInputElement).min, max: (el as HTMLInputElement).max }));
    assert.deepEqual(temperature, { value: String(SAMPLING_DEFAULTS.temperature), min: String(SAMPLING_FIELDS.temperature.minValue), max: String(SAMPLING_FIELDS.temperature.maxValue) });
    assert.equal(await page.inputValue('#max-tokens'), String(DEFAULT_MAX_TOKENS));
    await page.fill('#system-prompt', 'Always answer in Korean: 안녕하세요.');
    // Greedy: a sampled answer would vary between runs of the suite on one machine.
    await page.fill('#temperature', '0');
    await page.fill('#max-tokens', '12');
    await page.click('#settings-save');
    await page.focus('#prompt');
    await page.keyboard.type('한국어로 인사해 주세요. Say hello.');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.message.assistant .meta:has-text("tok/s")');
    // At most the 12-token cap (EOS may come sooner on another CPU, where greedy answers differ).
    const count = Number(/^(\d+) tokens/.exec((await page.textContent('.message.assistant .meta')) ?? '')?.[1]);
    assert.ok(count >= 1 && count <= 12, `${count} tokens`);
    assert.equal(await page.textContent('.message.user .content'), '한국어로 인사해 주세요. Say hello.');
    await page.screenshot({ path: join(artifacts, 'ui-korean-1280x720.png') });
    await page.close();
  });
});
