// Benchmarks that measure `onboard serve` at the client: start it as a user would, read its streams.
import { spawn } from 'node:child_process';
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

/** The events of a server-sent event stream (name and data), as they arrive. */
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
 */
export async function streamAnswer(url: string, maxTokens: number): Promise<RunResult> {
  const sent = performance.now();
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: BENCH_PROMPT }], temperature: 0, repeat_penalty: 1, max_tokens: maxTokens, stream: true }),
  });
  let first = 0;
  let last = 0;
  let stats: { decodeTokens: number; promptTokens: number; prefillTokens: number; peakRssBytes: number; modelLoadMs: number } | undefined;
  for await (const { data } of sseEvents(response)) {
    if (data === '[DONE]') continue;
    const chunk = JSON.parse(data) as { choices: Array<{ delta: { content?: string } }>; onboard?: typeof stats };
    if (chunk.onboard) stats = chunk.onboard;
    if (chunk.choices[0]?.delta.content) {
      last = performance.now();
      first ||= last;
    }
  }
  if (!stats) throw new Error('the stream ended without stats');
  const ttft = first - sent;
  return {
    loadMs: stats.modelLoadMs,
    timeToFirstTokenMs: ttft,
    promptTokens: stats.promptTokens,
    // A later request reuses the KV cache of the same prompt: only what it prefilled counts.
    prefillTokensPerSecond: stats.prefillTokens / (ttft / 1000),
    decodeTokens: stats.decodeTokens,
    // As everywhere: the tokens after the first, over the time from the first to the last.
    decodeTokensPerSecond: stats.decodeTokens > 1 ? (stats.decodeTokens - 1) / ((last - first) / 1000) : 0,
    peakRssBytes: stats.peakRssBytes,
  };
}
