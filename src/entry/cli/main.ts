#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { configFromEnv, createApp, type App } from '../../app/composition.js';
import { describeError } from './format.js';
import { err } from './terminal.js';
import { terminalProgress } from './progress.js';
import { registerChat } from './commands/chat.js';
import { registerDoctor } from './commands/doctor.js';
import { registerModels } from './commands/models.js';
import { registerRun } from './commands/run.js';
import { registerServe } from './commands/serve.js';
import { registerExport } from './commands/export.js';
import { registerInspect } from './commands/inspect.js';
import { registerSetup } from './commands/setup.js';
import { registerData } from './commands/data.js';
import { registerDev } from './commands/dev.js';
import { registerBundle } from './commands/bundle.js';

// A reader that stops early (`onboard run --help | head`) closes the pipe: that ends the output, it is not a crash.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const program = new Command()
  .name('onboard')
  .description('Run a language model on this device: streaming chat, model management, diagnostics. Offline; nothing leaves the machine.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .option('--offline', 'never reach the network: a model that is not in the cache is an error, not a download (also ONBOARD_OFFLINE=1)')
  .option('--key-file <path>', 'the key for models encrypted at rest: 32 raw bytes, 64 hex digits or base64 (also ONBOARD_MODEL_KEY_FILE; or the key itself in ONBOARD_MODEL_KEY)')
  .option('--db-key-file <path>', 'the key that encrypts the conversation database (SQLCipher 4), in the same forms (also ONBOARD_DB_KEY_FILE; or the key itself in ONBOARD_DB_KEY)')
  .hook('preAction', (command) => {
    const flags = command.opts() as { offline?: boolean; keyFile?: string; dbKeyFile?: string };
    if (flags.offline) process.env.ONBOARD_OFFLINE = '1';
    if (flags.keyFile) process.env.ONBOARD_MODEL_KEY_FILE = flags.keyFile;
    if (flags.dbKeyFile) process.env.ONBOARD_DB_KEY_FILE = flags.dbKeyFile;
  })
  .exitOverride()
  .addHelpText(
    'after',
    `
Quick start:
  onboard serve                        the web chat UI and an OpenAI-compatible API on 127.0.0.1:8080
  onboard chat                         chat in the terminal with the default model (fetched on first use)
  onboard run "Why is the sky blue?"   one answer, streamed to stdout
  onboard doctor                       what this machine can run
  onboard export -c configs/smollm2-135m-xnnpack-8da8w.yaml   a .pte for ExecuTorch
  onboard inspect <file.pte|file.gguf> what a model file holds
  onboard bundle <id> --out <dir>      the files an Android app loads, with sizes and sha256

Environment:
  ONBOARD_CACHE_DIR   where models are kept (default ~/.cache/onboard)
  HF_ENDPOINT         Hugging Face hub address (default https://huggingface.co)
  HF_TOKEN            token for gated or private hub repositories
  ONBOARD_PYTHON      Python used to fetch PyPI wheels (default python3)
  ONBOARD_RUNTIME_DIR where the native ExecuTorch runtime lives (default ~/.cache/onboard/runtime)
  ONBOARD_EXECUTORCH_RUNTIME  auto (default), native or python: what runs a .pte
  ONBOARD_OFFLINE=1   never reach the network (as --offline)
  ONBOARD_DECODE_THREADS_FILE  where measured decode thread counts are kept (default decode-threads.json in the cache)
  ONBOARD_MODEL_KEY   the key for models encrypted at rest (64 hex digits or base64; see docs/vehicle.md)
  ONBOARD_MODEL_KEY_FILE  a file holding that key (as --key-file)
  ONBOARD_DB_KEY      the key that encrypts the conversation database (ONBOARD_DB_KEY_FILE: as --db-key-file)
  ONBOARD_DATA_DIR    where the conversation database lives (default ~/.local/share/onboard)
  ONBOARD_THERMAL_ROOT  where thermal zones are read (default /sys/class/thermal)
  ONBOARD_DEBUG=1     print stack traces

Exit codes: 0 ok, 1 bug, 2 bad option, 3 model file problem, 4 fetch failed,
5 backend unavailable, 6 not enough memory, 7 prompt too long, 8 engine failed,
9 queue full, 10 bad export config or source, 11 export backend, toolchain or
runtime missing, 12 export (or synthetic checkpoint) failed, 13 conversation database unusable, 14 address in
use, 15 device too hot (a thermal zone at its critical trip point), 130 cancelled.
Model keys: 2 when missing, invalid or wrong; 3 when an encrypted file was altered.`,
  );

let app: App | undefined;
const getApp = (): App => (app ??= createApp(configFromEnv({ progress: terminalProgress(), onWarning: (message) => process.stderr.write(`warning: ${message}\n`), onEngineRestart: (engine, reason) => process.stderr.write(`warning: the ${engine} engine host ${reason}; restarted\n`) })));

registerRun(program, getApp);
registerChat(program, getApp);
registerModels(program, getApp);
registerServe(program, getApp);
registerDoctor(program, getApp);
registerSetup(program);
registerExport(program, getApp);
registerInspect(program, getApp);
registerData(program);
registerDev(program);
registerBundle(program, getApp);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander already printed the message (or the help/version text).
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    const { text, exitCode } = describeError(error);
    err(`${text}\n`);
    process.exitCode = exitCode;
  }
}
