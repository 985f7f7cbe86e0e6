import { Command, Option } from 'commander';
import { basename } from 'node:path';
import { applyRetention, defaultDatabasePath, openConversations } from '../../../app/conversations.js';
import { DEFAULT_MODEL_ID } from '../../../app/manage-models.js';
import type { App } from '../../../app/composition.js';
import { ModelHost } from '../../server/model-host.js';
import { DEFAULT_STREAM_INTERVAL_MS } from '../../server/sse.js';
import { restrictionsFromList, UX_RESTRICTIONS, type UxRestrictions } from '../../server/vehicle-routes.js';
import { InvalidOptionError } from '../../../core/errors.js';
import { checkExposure, DEFAULT_BODY_LIMIT_BYTES, startServer, type RunningServer } from '../../server/server.js';
import { describeError } from '../format.js';
import { addModelOptions, parseModelFlags, wholeNumberFlag, type ModelFlags } from '../options.js';

interface ServeFlags extends ModelFlags {
  host: string;
  port: string;
  token?: string;
  parallel: string;
  queue: string;
  streamInterval: string;
  timeLimit: string;
  db?: string;
  allowedHost: string[];
  corsOrigin: string[];
  bodyLimit: string;
  retention?: string;
  logPrompts?: boolean;
  ttftBudget?: string;
  warmStart: boolean;
  uxRestrictions: string[];
  vehicleToken?: string;
}

const collect = (value: string, previous: string[]) => [...previous, ...value.split(',').map((v) => v.trim()).filter(Boolean)];

function uxRestrictionsFlag(list: string[]): UxRestrictions {
  const unknown = list.filter((flag) => !(UX_RESTRICTIONS as readonly string[]).includes(flag));
  if (unknown.length) throw new InvalidOptionError('--ux-restrictions', `unknown restriction ${unknown.join(', ')}; use ${UX_RESTRICTIONS.join(', ')}`);
  return restrictionsFromList(list);
}

export function registerServe(program: Command, app: () => App): void {
  addModelOptions(program.command('serve').description('Serve the model: an OpenAI-compatible API and a web chat UI, on this machine'))
    .option('--host <address>', 'address to listen on; anything but loopback requires --token', '127.0.0.1')
    .option('-p, --port <port>', 'port (0 picks a free one)', '8080')
    .addOption(new Option('--token <secret>', 'require "Authorization: Bearer <secret>" on the API').env('ONBOARD_API_TOKEN'))
    // One sequence by default: a llama.cpp context with two decodes every token about 15% slower
    // even when one is in use (docs/benchmarks.md), and on a few cores two add little throughput.
    .option('--parallel <n>', 'conversations generated at once (KV-cache sequences); more than 1 slows each token', '1')
    .option('--queue <n>', 'requests that may wait; more get 429 with Retry-After', '16')
    .option('--time-limit <seconds>', 'longest time one answer may take', '300')
    .option('--stream-interval <ms>', 'streamed tokens less than this apart are written together (one write, one wake-up of the client, per display frame); 0 writes each at once', String(DEFAULT_STREAM_INTERVAL_MS))
    .option('--db <path>', `where conversations are kept (default ${defaultDatabasePath()}); encrypted with --db-key-file or ONBOARD_DB_KEY`)
    .option('--allowed-host <name>', 'also answer requests whose Host is this name (repeatable; "*" for any); loopback names always pass', collect, [])
    .option('--cors-origin <origin>', 'let a web page at this origin call the API from a browser (repeatable); other origins are refused', collect, [])
    .option('--body-limit <MiB>', 'largest request body; bigger ones get 413', String(DEFAULT_BODY_LIMIT_BYTES / 2 ** 20))
    .option('--retention <days>', 'delete conversations not used for this many days (at start, then daily)')
    .option('--ttft-budget <ms>', 'response-time budget: when a long history would push the first token past it (at the measured prefill speed), the oldest turns are left out; the stats say so')
    .option('--no-warm-start', 'do not prefill the chat template\'s opening at start (by default the first request is as quick as later ones)')
    .option('--ux-restrictions <flags>', `start in driving mode with these CarUxRestrictions (comma-separated: ${UX_RESTRICTIONS.join(', ')}), to try the driving UI`, collect, [])
    .addOption(new Option('--vehicle-token <secret>', 'the vehicle integration\'s secret: POST /api/vehicle/ux-restrictions needs it as X-Vehicle-Token').env('ONBOARD_VEHICLE_TOKEN'))
    .option('--log-prompts', 'also log every prompt and answer text to stderr (off by default: the log has only methods, routes, statuses and times)')
    .addHelpText(
      'after',
      `
Endpoints:
  GET  /                       the web chat UI
  POST /v1/chat/completions    OpenAI-compatible, streaming (SSE) or not
  POST /v1/completions         raw text completion
  GET  /v1/models              the model served
  GET  /health                 loading | ready | error (503 until ready)
  GET  /metrics                Prometheus metrics

Examples:
  onboard serve
  onboard serve --port 9000 --parallel 4
  onboard serve --host 0.0.0.0 --token "$(openssl rand -hex 16)"`,
    )
    .action(async (flags: ServeFlags) => {
      checkExposure(flags.host, flags.token);
      const bodyLimitBytes = wholeNumberFlag('--body-limit', flags.bodyLimit, 1, 1024)! * 2 ** 20;
      const port = wholeNumberFlag('--port', flags.port, 0, 65535)!;
      const parallel = wholeNumberFlag('--parallel', flags.parallel, 1, 64)!;
      const maxQueue = wholeNumberFlag('--queue', flags.queue, 0, 10_000)!;
      const timeLimitMs = wholeNumberFlag('--time-limit', flags.timeLimit, 1, 86_400)! * 1000;
      const streamIntervalMs = wholeNumberFlag('--stream-interval', flags.streamInterval, 0, 1000)!;
      const modelOptions = parseModelFlags(flags);
      const modelId = flags.model ? basename(flags.model).replace(/\.(gguf|pte)$/i, '') : DEFAULT_MODEL_ID;
      const retentionDays = wholeNumberFlag('--retention', flags.retention, 1, 36_500);
      const uxRestrictions = uxRestrictionsFlag(flags.uxRestrictions);
      const store = openConversations(flags.db);
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const stopRetention = retentionDays === undefined ? () => {} : applyRetention(store, retentionDays, (count) => log(`retention: deleted ${count} conversation(s) unused for ${retentionDays} days`));
      const onAnswer = flags.logPrompts ? (record: { prompt: string; answer: string }) => log(`prompt-log ${JSON.stringify(record)}`) : undefined;
      const ttftBudgetMs = wholeNumberFlag('--ttft-budget', flags.ttftBudget, 1, 600_000);
      // Assigned once listening; the warm start's HTTP half runs through it when the model is loaded.
      let server: RunningServer | undefined;
      const host = new ModelHost(
        () => app().openRunner({ ...modelOptions, parallel, maxQueue, ...(onAnswer ? { onAnswer } : {}), ...(ttftBudgetMs !== undefined ? { ttftBudgetMs } : {}) }),
        flags.warmStart
          ? async (runner) => {
              await runner.warmUp();
              await server?.warmUp();
            }
          : undefined,
        (message) => log(`warning: ${message}`),
      );
      try {
        server = await startServer({
          host: flags.host,
          port,
          ...(flags.token ? { token: flags.token } : {}),
          allowedHosts: flags.allowedHost,
          corsOrigins: flags.corsOrigin,
          bodyLimitBytes,
          modelId,
          model: host,
          store,
          timeLimitMs,
          streamIntervalMs,
          onEngineRestart: app().onEngineRestart,
          log,
          thermal: app().thermal(),
          uxRestrictions,
          ...(flags.vehicleToken ? { vehicleToken: flags.vehicleToken } : {}),
        });
      } catch (error) {
        stopRetention();
        await host.close();
        store.close();
        throw error;
      }
      process.stdout.write(`onboard is serving ${modelId} at ${server.url}  (web UI: ${server.url}/, API: ${server.url}/v1)\n`);
      host.ready.then((runner) => {
        if (runner) {
          const { backend } = runner.model;
          process.stdout.write(`model ready: ${runner.model.engine} on ${backend.backend} (${backend.reason})${backend.artifact ? `; artifact ${backend.artifact.reason}` : ''}\n`);
        }
        else process.stderr.write(`${describeError(host.error).text}\n(the server keeps running and reports this error at /health)\n`);
      });
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      process.stdout.write('stopping...\n');
      await server.close();
      stopRetention();
      await host.close();
      store.close();
    });
}
