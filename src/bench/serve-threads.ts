// Where a server answer's time goes: CPU time of each thread of `onboard serve` (from
// /proc/<pid>/task) and of this client while it streams answers, beside the decode rate the
// client sees. Linux only. Usage:
//   [BENCH_THREADS=2] [BENCH_DECODE_THREADS=n] [BENCH_STREAM_INTERVAL=ms] [BENCH_MODEL=<id or path>] node dist/bench/serve-threads.js [answers=4] [--cpu-prof]
// --cpu-prof runs the server under V8's sampling profiler (every 250 us): its sampling thread
// keeps the CPUs from idling, which shows how much of a token's time is waking threads up.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServeProcess, streamAnswer } from './serve-process.js';

const args = process.argv.slice(2);
const answers = Number(args.find((a) => /^\d+$/.test(a)) ?? 4);
const profile = args.includes('--cpu-prof');
const nodeArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${await mkdtemp(join(tmpdir(), 'onboard-cpuprof-'))}`, '--cpu-prof-interval', '250'] : [];

let pid = 0;
const model = process.env.BENCH_MODEL ? ['--model', process.env.BENCH_MODEL] : [];
const decodeThreads = process.env.BENCH_DECODE_THREADS ? ['--decode-threads', process.env.BENCH_DECODE_THREADS] : [];
const streamInterval = process.env.BENCH_STREAM_INTERVAL ? ['--stream-interval', process.env.BENCH_STREAM_INTERVAL] : [];
const server = await startServeProcess([...model, ...decodeThreads, ...streamInterval, '--backend', 'cpu', '--threads', process.env.BENCH_THREADS ?? '2'], (p) => (pid = p), nodeArgs);

/** CPU milliseconds of each live thread of the server, by "tid:name". */
function threadTimes(): Map<string, number> {
  const times = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      times.set(`${tid}:${name}`, (Number(fields[11]) + Number(fields[12])) * 10); // utime + stime, in 10 ms ticks
    } catch {
      // the thread ended between listing and reading
    }
  }
  return times;
}

for (let answer = 1; answer <= answers; answer++) {
  const before = threadTimes();
  const clientBefore = process.cpuUsage();
  const { decodeTokens, decodeTokensPerSecond } = await streamAnswer(server.url, 128);
  const client = process.cpuUsage(clientBefore);
  const busy = [...threadTimes()].map(([thread, ms]) => [thread, ms - (before.get(thread) ?? 0)] as const).filter(([, ms]) => ms > 0);
  console.log(`answer ${answer}: ${decodeTokens} tokens, decode ${decodeTokensPerSecond.toFixed(1)} tok/s, client CPU ${((client.user + client.system) / 1000).toFixed(0)} ms, server threads (CPU ms): ${busy.map(([t, ms]) => `${t}=${ms}`).join(' ')}`);
}
await server.stop();
