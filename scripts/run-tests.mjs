// Runs the whole suite with Node's test runner. Test files run one at a time:
// each loads the real model, and two cores are better spent on one at a time.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const only = process.argv.slice(2);
const files = readdirSync('test')
  .filter((name) => name.endsWith('.test.ts'))
  .filter((name) => only.length === 0 || only.some((pattern) => name.includes(pattern)))
  .sort()
  .map((name) => `test/${name}`);

// The suite's decode thread trials run beside its servers, clients and exports: what they decide is
// kept in a file of this run, never in the user's cache, where it would be trusted for a day.
const env = { ...process.env, ONBOARD_DECODE_THREADS_FILE: process.env.ONBOARD_DECODE_THREADS_FILE || join(tmpdir(), `onboard-test-decode-threads-${process.pid}.json`) };
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
