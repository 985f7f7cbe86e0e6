/**
 * Typed errors: one class per failure a user can act on. Each has a stable
 * `code`, the value involved, a hint saying what to do next, and the exit
 * code the CLI uses for it. Expected failures never need a stack trace.
 */
export type ErrorCode =
  | 'MODEL_NOT_FOUND'
  | 'MODEL_NOT_READABLE'
  | 'MODEL_IS_DIRECTORY'
  | 'MODEL_NOT_A_MODEL_FILE'
  | 'MODEL_CORRUPT'
  | 'MODEL_INCOMPLETE'
  | 'MODEL_NOT_AN_LLM'
  | 'MODEL_UNSUPPORTED_ARCHITECTURE'
  | 'MODEL_UNKNOWN'
  | 'MODEL_ID_INVALID'
  | 'PATH_OUTSIDE_ROOT'
  | 'MODEL_FETCH_FAILED'
  | 'MODEL_CHECKSUM_MISMATCH'
  | 'BACKEND_UNAVAILABLE'
  | 'NO_RUNNABLE_ARTIFACT'
  | 'NOT_ENOUGH_MEMORY'
  | 'PROMPT_TOO_LONG'
  | 'CANCELLED'
  | 'INVALID_OPTION'
  | 'QUEUE_FULL'
  | 'ENGINE_FAILED'
  | 'EXPORT_CONFIG_INVALID'
  | 'EXPORT_SOURCE_INVALID'
  | 'EXPORT_BACKEND_UNAVAILABLE'
  | 'TOOLCHAIN_MISSING'
  | 'RUNTIME_MISSING'
  | 'EXPORT_FAILED'
  | 'SYNTHETIC_CHECKPOINT_FAILED'
  | 'DATABASE_FAILED'
  | 'ADDRESS_IN_USE'
  | 'NETWORK_DISABLED'
  | 'SCHEMA_UNSUPPORTED'
  | 'GRAMMAR_INVALID'
  | 'CONSTRAINT_UNSUPPORTED'
  | 'MODEL_KEY_REQUIRED'
  | 'MODEL_KEY_INVALID'
  | 'MODEL_KEY_WRONG'
  | 'MODEL_TAMPERED'
  | 'MEMORY_FILE_UNAVAILABLE'
  | 'BUNDLE_INVALID'
  | 'THERMAL_CRITICAL';

/** Exit codes, documented in README.md (Troubleshooting). */
export const exitCodes: Record<ErrorCode, number> = {
  INVALID_OPTION: 2,
  MODEL_NOT_FOUND: 3,
  MODEL_NOT_READABLE: 3,
  MODEL_IS_DIRECTORY: 3,
  MODEL_NOT_A_MODEL_FILE: 3,
  MODEL_CORRUPT: 3,
  MODEL_INCOMPLETE: 3,
  MODEL_NOT_AN_LLM: 3,
  MODEL_UNSUPPORTED_ARCHITECTURE: 3,
  MODEL_UNKNOWN: 3,
  MODEL_ID_INVALID: 2,
  PATH_OUTSIDE_ROOT: 3,
  MODEL_FETCH_FAILED: 4,
  MODEL_CHECKSUM_MISMATCH: 4,
  BACKEND_UNAVAILABLE: 5,
  NO_RUNNABLE_ARTIFACT: 5,
  NOT_ENOUGH_MEMORY: 6,
  PROMPT_TOO_LONG: 7,
  ENGINE_FAILED: 8,
  QUEUE_FULL: 9,
  EXPORT_CONFIG_INVALID: 10,
  EXPORT_SOURCE_INVALID: 10,
  EXPORT_BACKEND_UNAVAILABLE: 11,
  TOOLCHAIN_MISSING: 11,
  RUNTIME_MISSING: 11,
  EXPORT_FAILED: 12,
  SYNTHETIC_CHECKPOINT_FAILED: 12,
  DATABASE_FAILED: 13,
  ADDRESS_IN_USE: 14,
  NETWORK_DISABLED: 4,
  SCHEMA_UNSUPPORTED: 2,
  GRAMMAR_INVALID: 2,
  CONSTRAINT_UNSUPPORTED: 5,
  MODEL_KEY_REQUIRED: 2,
  MODEL_KEY_INVALID: 2,
  MODEL_KEY_WRONG: 2,
  MODEL_TAMPERED: 3,
  MEMORY_FILE_UNAVAILABLE: 5,
  BUNDLE_INVALID: 3,
  THERMAL_CRITICAL: 15,
  CANCELLED: 130,
};

export class OnboardError extends Error {
  readonly code: ErrorCode;
  readonly hint: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, hint: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.hint = hint;
    this.details = details;
  }

  get exitCode(): number {
    return exitCodes[this.code];
  }

  toJSON(): { code: ErrorCode; message: string; hint: string; details: Readonly<Record<string, unknown>> } {
    return { code: this.code, message: this.message, hint: this.hint, details: this.details };
  }
}

export class ModelNotFoundError extends OnboardError {
  constructor(readonly path: string) {
    super('MODEL_NOT_FOUND', `Model file not found: ${path}`, 'Check the path, or run `onboard models pull` to fetch the default model.', { path });
  }
}

export class ModelNotReadableError extends OnboardError {
  constructor(readonly path: string) {
    super('MODEL_NOT_READABLE', `Model file is not readable by this user: ${path}`, `Fix its permissions (for example \`chmod a+r ${path}\`) or run as a user who can read it.`, { path });
  }
}

export class ModelIsDirectoryError extends OnboardError {
  constructor(readonly path: string) {
    super('MODEL_IS_DIRECTORY', `Expected a model file but found a directory: ${path}`, 'Pass the path of the .gguf file inside it.', { path });
  }
}

export class NotAModelFileError extends OnboardError {
  constructor(readonly path: string, readonly found: string, expected = 'a GGUF model file (it starts with the bytes "GGUF")') {
    super('MODEL_NOT_A_MODEL_FILE', `Not a model file: ${path} (${found})`, `Pass ${expected}; \`onboard models list\` shows the models you have.`, { path, found });
  }
}

export class ModelCorruptError extends OnboardError {
  constructor(readonly path: string, readonly reason: string) {
    super('MODEL_CORRUPT', `Model file is truncated or corrupt: ${path} (${reason})`, 'Download it again: `onboard models rm <id>` then `onboard models pull <id>`, or copy the file again.', { path, reason });
  }
}

/** A sound ExecuTorch program that is not a language model onboard can chat with. */
export class ModelNotAnLlmError extends OnboardError {
  constructor(readonly path: string, readonly reason: string) {
    super('MODEL_NOT_AN_LLM', `${path} is an ExecuTorch program, but not a language model: ${reason}`, 'Pass a .pte exported for text generation (`onboard export`, or ExecuTorch\'s export_llm): its forward takes token ids and a start position; `onboard inspect <file>` shows what this one takes.', { path, reason });
  }
}

/** The model file is fine but a file it needs beside it (a .pte's tokenizer.json) is missing. */
export class ModelIncompleteError extends OnboardError {
  constructor(readonly path: string, readonly missing: string) {
    super('MODEL_INCOMPLETE', `${path} needs ${missing} next to it, and it is not there`, `Copy ${missing} from where the model came from into the same folder, pass its path with --tokenizer <path>, or export it again with \`onboard export\` (which installs both).`, { path, missing });
  }
}

export class UnsupportedArchitectureError extends OnboardError {
  constructor(readonly path: string, readonly architecture: string) {
    super('MODEL_UNSUPPORTED_ARCHITECTURE', `Model architecture "${architecture}" is not supported by this llama.cpp build: ${path}`, 'Use a model with a supported architecture (llama, qwen2, gemma, phi3, ...), or upgrade node-llama-cpp.', { path, architecture });
  }
}

export class UnknownModelError extends OnboardError {
  constructor(readonly id: string, readonly known: readonly string[]) {
    super('MODEL_UNKNOWN', `Unknown model "${id}"`, `Pass a path to a .gguf file, or one of: ${known.join(', ')}.`, { id, known });
  }
}

/** An id that would not stay one folder of the cache (`..`, `a/b`, empty, NUL, too long). */
export class InvalidModelIdError extends OnboardError {
  constructor(readonly id: string, readonly what: string, rule: string) {
    super('MODEL_ID_INVALID', `Invalid ${what} ${JSON.stringify(id.length > 140 ? `${id.slice(0, 140)}...` : id)}: it must be ${rule}`, 'Use an id that `onboard models list` shows; to run a file, pass its path (with a "/").', { id, what });
  }
}

/** A path built from an id or a file's content (or a symlink) resolves outside the folder it must stay in. */
export class PathOutsideRootError extends OnboardError {
  constructor(readonly path: string, readonly root: string) {
    super('PATH_OUTSIDE_ROOT', `Refusing ${path}: it resolves outside ${root}`, `Something in ${root} points elsewhere (a symlink or a hostile manifest); remove it by hand after checking what it is.`, { path, root });
  }
}

export class ModelFetchError extends OnboardError {
  constructor(readonly source: string, reason: string, readonly attempts: readonly string[] = []) {
    super('MODEL_FETCH_FAILED', `Could not fetch the model from ${source}: ${reason}`, 'Check the network (or HF_ENDPOINT), or pass a local file with --model <path.gguf>.', { source, reason, attempts });
  }
}

export class ChecksumMismatchError extends OnboardError {
  constructor(readonly source: string, readonly expected: string, readonly actual: string) {
    super('MODEL_CHECKSUM_MISMATCH', `Checksum mismatch for ${source}: expected sha256 ${expected}, got ${actual}`, 'Nothing was installed. Try again; if it persists the source is serving a different file.', { source, expected, actual });
  }
}

export class BackendUnavailableError extends OnboardError {
  constructor(readonly backend: string, reason: string, readonly tried: readonly string[] = []) {
    super('BACKEND_UNAVAILABLE', `Backend "${backend}" is not available: ${reason}`, 'Run `onboard doctor` to see which backends this machine has, or use --backend auto.', { backend, reason, tried });
  }
}

/** Every artifact of a model was skipped or failed on this device; `tried` says why, one line each. */
export class NoRunnableArtifactError extends OnboardError {
  constructor(readonly model: string, readonly tried: readonly string[]) {
    super(
      'NO_RUNNABLE_ARTIFACT',
      `No artifact of ${model} can run on this device: ${tried.join('; ') || 'it has none'}`,
      'Run `onboard doctor` to see what this device has; export an artifact for it (`onboard export`) or change --priority.',
      { model, tried },
    );
  }
}

export class NotEnoughMemoryError extends OnboardError {
  constructor(readonly neededBytes: number, readonly availableBytes: number, readonly breakdown: Record<string, number>, limit: 'available' | 'budget' = 'available') {
    const mib = (n: number) => `${Math.ceil(n / 2 ** 20)} MiB`;
    const sequences = (breakdown.sequences ?? 1) > 1 ? ` x ${breakdown.sequences} sequences` : '';
    super(
      'NOT_ENOUGH_MEMORY',
      `Not enough memory: this model needs about ${mib(neededBytes)} (weights ${mib(breakdown.weightsBytes ?? 0)} + KV cache ${mib(breakdown.kvCacheBytes ?? 0)} for ${breakdown.contextSize ?? '?'} tokens${sequences} + overhead ${mib(breakdown.overheadBytes ?? 0)}) but ${limit === 'budget' ? `the memory budget is ${mib(availableBytes)}` : `only ${mib(availableBytes)} is available`}`,
      limit === 'budget' ? 'Even the smallest context and one sequence exceed the budget: raise --memory-budget (or the cgroup limit), or use a smaller or more strongly quantized model.' : 'Use a smaller context (--ctx 2048), a smaller or more strongly quantized model, or free memory.',
      { neededBytes, availableBytes, ...breakdown },
    );
  }
}

export class PromptTooLongError extends OnboardError {
  constructor(readonly promptTokens: number, readonly contextSize: number, readonly reservedTokens: number) {
    super(
      'PROMPT_TOO_LONG',
      `Prompt too long: ${promptTokens} tokens, but the context holds ${contextSize} tokens and ${reservedTokens} are kept for the answer`,
      'Shorten the prompt or the system prompt, or raise the context size (--ctx).',
      { promptTokens, contextSize, reservedTokens },
    );
  }
}

export class CancelledError extends OnboardError {
  constructor(what = 'Generation') {
    super('CANCELLED', `${what} was cancelled`, 'Nothing to do; run it again when you want.', {});
  }
}

export class QueueFullError extends OnboardError {
  /** Seconds after which a retry is likely to be served. */
  readonly retryAfterSeconds: number;
  constructor(readonly waiting: number, readonly maxQueue: number) {
    super('QUEUE_FULL', `Too many requests: ${waiting} already waiting (the queue holds ${maxQueue})`, 'Retry in a few seconds, or start the server with a larger --queue or --parallel.', { waiting, maxQueue });
    this.retryAfterSeconds = 2;
  }
}

export class InvalidOptionError extends OnboardError {
  constructor(readonly option: string, reason: string) {
    super('INVALID_OPTION', `Invalid option ${option}: ${reason}`, 'Run the command with --help to see the allowed values.', { option, reason });
  }
}

export class EngineFailedError extends OnboardError {
  constructor(readonly engine: string, reason: string, options?: { cause?: unknown }) {
    super('ENGINE_FAILED', `The ${engine} engine failed: ${reason}`, 'Run `onboard doctor`; if it persists, report it with the output of `onboard doctor --json`.', { engine, reason }, options);
  }
}

/** One or more keys of an export config are unknown or have bad values; each problem names its key. */
export class ExportConfigError extends OnboardError {
  constructor(readonly file: string, readonly problems: readonly string[]) {
    super('EXPORT_CONFIG_INVALID', `Export config ${file} is invalid:\n  - ${problems.join('\n  - ')}`, 'Fix the keys above (configs/ has working examples), or override one with --set key=value.', { file, problems });
  }
}

/** The checkpoint, params or tokenizer an export needs is missing or cannot be converted. */
export class ExportSourceError extends OnboardError {
  constructor(readonly what: string, reason: string, hint: string) {
    super('EXPORT_SOURCE_INVALID', `Cannot export ${what}: ${reason}`, hint, { what, reason });
  }
}

/** The config asks for a backend this machine or this executorch build cannot export for. */
export class ExportBackendUnavailableError extends OnboardError {
  constructor(readonly backend: string, missing: string, hint: string) {
    super('EXPORT_BACKEND_UNAVAILABLE', `Cannot export for ${backend}: ${missing}`, hint, { backend, missing });
  }
}

/** The Python toolchain (virtual environment with executorch) is not set up. */
export class ToolchainMissingError extends OnboardError {
  constructor(reason: string) {
    super('TOOLCHAIN_MISSING', `The ExecuTorch toolchain is not set up: ${reason}`, "Run `onboard setup executorch` (it creates the virtual environment with the pinned packages in the model cache's toolchain/ folder, or $ONBOARD_VENV; safe to re-run).", { reason });
  }
}

/** The native ExecuTorch runtime (the wheel's libraries and our addon) is not installed or does not build. */
export class RuntimeMissingError extends OnboardError {
  constructor(reason: string) {
    super('RUNTIME_MISSING', `The native ExecuTorch runtime is not ready: ${reason}`, 'Run `onboard setup runtime` (it fetches the executorch wheel alone, about 19 MB, and builds the addon; needs python3 with pip, g++ and make). `onboard setup executorch` does it too.', { reason });
  }
}

/** The exporter or the verification run failed; the log has the whole story. */
export class ExportFailedError extends OnboardError {
  constructor(readonly stage: string, reason: string, readonly logPath: string) {
    super('EXPORT_FAILED', `Export failed during ${stage}: ${reason}`, `The exporter's full log is ${logPath}. Nothing was installed in the model cache.`, { stage, reason, logPath });
  }
}

/** The conversation database cannot be opened or written: a directory, not SQLite, corrupt, read-only, disk full. */
export class DatabaseError extends OnboardError {
  constructor(readonly path: string, reason: string) {
    super('DATABASE_FAILED', `The conversation database ${path} cannot be used: ${reason}`, 'Point --db at a writable file (a new path starts an empty database), or move the damaged file aside and start again.', { path, reason });
  }
}

/** Another process listens on the address the server was asked to use. */
export class AddressInUseError extends OnboardError {
  constructor(readonly address: string) {
    super('ADDRESS_IN_USE', `Cannot listen on ${address}: another program is using it`, 'Stop the other program, or pick another port with --port (0 picks a free one).', { address });
  }
}

/** Offline mode (`--offline` / ONBOARD_OFFLINE=1) refused a network request instead of waiting for it. */
export class NetworkDisabledError extends OnboardError {
  constructor(readonly target: string) {
    super('NETWORK_DISABLED', `Offline mode: not reaching ${target}`, 'The model must already be in the cache (`onboard models list`), or pass a local file with --model <path>; drop --offline (or ONBOARD_OFFLINE) to fetch it.', { target });
  }
}

export function isOnboardError(value: unknown): value is OnboardError {
  return value instanceof OnboardError;
}

/** A JSON schema for constrained output uses a keyword (or value) the engines do not enforce. */
export class SchemaUnsupportedError extends OnboardError {
  constructor(readonly pointer: string, reason: string, readonly keyword?: string) {
    super('SCHEMA_UNSUPPORTED', `The JSON schema cannot be enforced at ${pointer}: ${reason}`, 'Use the keywords listed in README.md (Structured output and tools), or drop this one and check the answer yourself.', { pointer, reason, ...(keyword ? { keyword } : {}) });
  }
}

/** A grammar for constrained output does not parse, or a schema could not be turned into one. */
export class GrammarInvalidError extends OnboardError {
  constructor(reason: string) {
    super('GRAMMAR_INVALID', `The output grammar is invalid: ${reason}`, 'Fix the grammar (GBNF, as llama.cpp reads it) or the schema and try again.', { reason });
  }
}

/** The engine running the model cannot hold an answer to a constraint. */
export class ConstraintUnsupportedError extends OnboardError {
  constructor(readonly engine: string, reason: string, hint = "Run the model with the llama.cpp engine or on ExecuTorch's native runtime (`onboard setup runtime`), or ask without a constraint.") {
    super('CONSTRAINT_UNSUPPORTED', `The ${engine} engine cannot constrain the answer: ${reason}`, hint, { engine, reason });
  }
}

const KEY_HINT = 'Set ONBOARD_MODEL_KEY to the 32-byte key (64 hex digits or base64), or pass --key-file <file>; docs/vehicle.md says how a device holds it.';

/** An encrypted model file, and no key to open it. */
export class ModelKeyRequiredError extends OnboardError {
  constructor(readonly path: string, situation = 'is encrypted') {
    super('MODEL_KEY_REQUIRED', `${path} ${situation} and no model key was given`, KEY_HINT, { path });
  }
}

/** A key given (for models or the conversation database) is not a 256-bit key. */
export class ModelKeyInvalidError extends OnboardError {
  constructor(readonly source: string, reason: string) {
    super('MODEL_KEY_INVALID', `The key from ${source} is not usable: ${reason}`, 'A key is 32 bytes: 64 hex digits, 44 base64 characters or the raw bytes (e.g. `openssl rand -hex 32 > key`).', { source, reason });
  }
}

/** The key given is not the one the file was encrypted with. */
export class ModelKeyWrongError extends OnboardError {
  constructor(readonly path: string) {
    super('MODEL_KEY_WRONG', `${path} was encrypted with another key`, 'Use the key the file was encrypted with (ONBOARD_MODEL_KEY or --key-file); nothing was decrypted.', { path });
  }
}

/** An encrypted model file whose bytes were changed, cut or extended after it was encrypted. */
export class ModelTamperedError extends OnboardError {
  constructor(readonly path: string, reason: string, readonly chunk?: number) {
    super('MODEL_TAMPERED', `${path} has been altered since it was encrypted: ${reason}`, 'Copy the encrypted file again from its source (or `onboard models rm <id>` and install it again); an altered file is never loaded.', { path, reason, ...(chunk !== undefined ? { chunk } : {}) });
  }
}

/** Decrypting into memory needs an anonymous in-memory file, and this system offers none. */
export class MemoryFileUnavailableError extends OnboardError {
  constructor(reason: string) {
    super('MEMORY_FILE_UNAVAILABLE', `Cannot decrypt the model into memory: ${reason}`, 'Run on Linux with a tmpfs at /dev/shm (or $ONBOARD_MEMORY_DIR); onboard never writes a decrypted model to a disk.', { reason });
  }
}

/** A deployment bundle whose files do not match its manifest (a bad copy, a changed file, a hostile manifest). */
export class BundleInvalidError extends OnboardError {
  constructor(readonly dir: string, readonly problems: readonly string[]) {
    super('BUNDLE_INVALID', `The bundle ${dir} does not match its manifest: ${problems.join('; ')}`, 'Copy the bundle again from where it was made (or make it again with `onboard bundle`); a device must not load a bundle that fails this check.', { dir, problems });
  }
}

/** A thermal zone is at its critical trip point: no new generation starts until it cools. */
export class ThermalCriticalError extends OnboardError {
  constructor(readonly zone: string, readonly tempC: number, readonly tripC: number) {
    super('THERMAL_CRITICAL', `The device is too hot to generate: ${zone} is at ${tempC.toFixed(1)} °C, at or above its critical trip point (${tripC.toFixed(1)} °C)`, 'Wait until it cools (GET /health shows the temperature), or reduce load; answers resume by themselves.', { zone, tempC, tripC });
  }
}
