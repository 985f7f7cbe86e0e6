// Benchmarks that measure `onboard serve` at the client: start it as a user would, read its streams.
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { BENCH_PROMPT, type RunResult } from './measure.js';

const cli = fileURLToPath(new URL('../entry/cli/main.js', import.meta.url));

/** Starts `onboard serve --port 0 <args>` (under Node with `nodeArgs`) and resolves once /health says the model is ready. */
export async function startServeProcess(args: readonly string[], onSpawn?: (pid: number) => void, nodeArgs: readonly string[] = []): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [...nodeArgs, cli, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  onSpawn?.(child.pid!);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /at (http:\/\/\S+?)\s/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  while ((await fetch(`${url}/health`).then((r) => r.status, () => 0)) !== 200) await new Promise((r) => setTimeout(r, 50));
  return {
    url,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** The events of a server-sent event stream (name and data), as they arrive: for fetch's responses (the tests read streams with it). */
export async function* sseEvents(response: Response): AsyncGenerator<{ event: string; data: string }> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const raw = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      yield { event: /^event: (.*)$/m.exec(raw)?.[1] ?? 'message', data: /^data: (.*)$/m.exec(raw)?.[1] ?? '' };
    }
  }
}

/**
 * One streamed chat completion of the benchmark prompt, greedy, timed at the client: time to
 * first token from the request, decode from the first content chunk to the last, token counts
 * from the server's own stats (the `onboard` field of its last chunk).
 *
 * The client is `node:http` with a plain 'data' handler, not fetch: it shares the vCPUs with
 * the server it measures, and fetch's web streams cost it about twice the CPU per chunk
 * (docs/benchmarks.md, "One speed everywhere").
 */
export function streamAnswer(url: string, maxTokens: number): Promise<RunResult> {
  const body = JSON.stringify({ messages: [{ role: 'user', content: BENCH_PROMPT }], temperature: 0, repeat_penalty: 1, max_tokens: maxTokens, stream: true });
  return new Promise((resolve, reject) => {
    const sent = performance.now();
    let first = 0;
    let last = 0;
    let stats: { decodeTokens: number; promptTokens: number; prefillTokens: number; peakRssBytes: number; modelLoadMs: number } | undefined;
    const request = httpRequest(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      response.setEncoding('utf8');
      let buffer = '';
      response.on('data', (text: string) => {
        buffer += text;
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          const data = /^data: (.*)$/m.exec(buffer.slice(0, end))?.[1];
          buffer = buffer.slice(end + 2);
          if (response.statusCode !== 200 || !data || data === '[DONE]') continue;
          const chunk = JSON.parse(data) as { choices: Array<{ delta: { content?: string } }>; onboard?: typeof stats };
          if (chunk.onboard) stats = chunk.onboard;
          if (chunk.choices[0]?.delta.content) {
            last = performance.now();
            first ||= last;
          }
        }
      });
      response.on('error', reject);
      response.on('end', () => {
        if (response.statusCode !== 200) return reject(new Error(`the server answered ${response.statusCode}: ${buffer}`));
        if (!stats) return reject(new Error('the stream ended without stats'));
        const ttft = first - sent;
        resolve({
          loadMs: stats.modelLoadMs,
          timeToFirstTokenMs: ttft,
          promptTokens: stats.promptTokens,
          // A later request reuses the KV cache of the same prompt: only what it prefilled counts.
          prefillTokensPerSecond: stats.prefillTokens / (ttft / 1000),
          decodeTokens: stats.decodeTokens,
          // As everywhere: the tokens after the first, over the time from the first to the last.
          decodeTokensPerSecond: stats.decodeTokens > 1 ? (stats.decodeTokens - 1) / ((last - first) / 1000) : 0,
          peakRssBytes: stats.peakRssBytes,
        });
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}
