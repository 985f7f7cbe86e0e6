// --stream-interval: streamed events less than the interval apart go out in one write, but the
// first token never waits, and every event arrives, whole and in order. Read with node:http so
// each socket read the client gets is seen as one chunk.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startServerProcess, type ServerProcess } from './helpers.js';

/** One streamed chat completion: the raw chunks as the socket delivered them. */
function streamChunks(url: string, maxTokens: number): Promise<string[]> {
  const body = JSON.stringify({ messages: [{ role: 'user', content: 'Write a long story about a lighthouse keeper.' }], max_tokens: maxTokens, temperature: 0, stream: true });
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: string[] = [];
      res.setEncoding('utf8');
      res.on('data', (text: string) => chunks.push(text));
      res.on('end', () => (res.statusCode === 200 ? resolve(chunks) : reject(new Error(`status ${res.statusCode}: ${chunks.join('')}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const events = (text: string) => text.split('\n\n').filter(Boolean);
const isContent = (event: string) => event !== 'data: [DONE]' && Boolean((JSON.parse(event.slice('data: '.length)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content);

describe('--stream-interval', () => {
  let held: ServerProcess;
  let immediate: ServerProcess;
  before(async () => {
    held = await startServerProcess(['--stream-interval', '1000', '--no-warm-start']);
    immediate = await startServerProcess(['--stream-interval', '0', '--no-warm-start']);
  });
  after(async () => {
    await held?.stop();
    await immediate?.stop();
  });

  it('writes a second\'s worth of tokens together, sends the first token at once, and loses none', async () => {
    const chunks = await streamChunks(held.url, 48);
    const all = events(chunks.join(''));
    assert.equal(all.at(-1), 'data: [DONE]');
    const contentEvents = all.filter(isContent).length;
    assert.ok(contentEvents >= 8, `the answer streamed ${contentEvents} content events`);
    // Far fewer writes than events: what arrived within the interval came together.
    assert.ok(chunks.length * 4 <= all.length, `${chunks.length} chunks for ${all.length} events`);
    // The first token was not held for the others: it arrived before the answer ended.
    const firstContent = chunks.findIndex((chunk) => events(chunk).some(isContent));
    const last = chunks.findIndex((chunk) => chunk.includes('data: [DONE]'));
    assert.ok(firstContent < last, `the first token came in chunk ${firstContent}, the end in chunk ${last}`);
  });

  it('the same answer, event for event, as a server that writes each at once', async () => {
    const grouped = events((await streamChunks(held.url, 24)).join(''));
    const single = events((await streamChunks(immediate.url, 24)).join(''));
    // Ids and timestamps differ; the deltas must not.
    const deltas = (list: string[]) => list.map((event) => (event === 'data: [DONE]' ? event : JSON.stringify((JSON.parse(event.slice(6)) as { choices: unknown }).choices)));
    assert.deepEqual(deltas(grouped), deltas(single));
  });
});
