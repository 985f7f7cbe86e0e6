import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { InvalidOptionError } from '../../core/errors.js';
import { parsePriority, PRIORITY_ITEMS, type PriorityItem } from '../../core/artifact-plan.js';
import { AUTO_ORDER } from '../../core/backend-policy.js';
import { DEFAULT_MAX_TOKENS, MAX_TOKENS_LIMIT, SAMPLING_DEFAULTS, SAMPLING_FIELDS, samplingOverridesSchema, type SamplingField } from '../../core/sampling.js';
import type { BackendRequest } from '../../core/types.js';
import { checkConstraint, type JsonSchema, type OutputConstraint } from '../../core/output-constraint.js';
import { checkTools, toolDefinition, type ToolChoice, type ToolDefinition } from '../../core/tools.js';
import { DEFAULT_CONTEXT_SIZE, MIN_CONTEXT_SIZE, type EngineRequest, type OpenChatOptions, type OpenModelOptions } from '../../app/composition.js';

/** Flags that pick the model and where it runs: `run`, `chat` and `serve`. */
export function addModelOptions(command: Command): Command {
  return command
    .option('-m, --model <id|path>', 'model id (`onboard models list`) or path to a .gguf or .pte file (default: the default model, fetched on first use)')
    .option('-e, --engine <engine>', 'auto runs each file with the engine of its format (a .pte with executorch, a GGUF with llamacpp)', 'auto')
    .addOption(new Option('-b, --backend <backend>', 'where to run: auto picks the best available and falls back').choices(['auto', ...AUTO_ORDER]).default('auto'))
    .option('--priority <list>', 'for a model with several artifacts: accelerators to try, best first (classes npu, gpu, cpu or backends qnn, vulkan, cuda, xnnpack...); default $ONBOARD_PRIORITY, else npu,gpu,cpu')
    .option('-c, --ctx <tokens>', 'context window in tokens', String(DEFAULT_CONTEXT_SIZE))
    .option('-t, --threads <n>', 'CPU threads (default: the physical cores)')
    .option('--decode-threads <n>', 'CPU threads for each answer token, at most --threads (default: measured while the first answer decodes)')
    .option('--tokenizer <path>', "for a .pte: its tokenizer file (Hugging Face tokenizer.json, tiktoken or SentencePiece tokenizer.model, llama2.c tokenizer.bin; told apart by content) or the folder holding one; default: the first of those names beside the .pte")
    .option('--memory-budget <size>', 'memory the model may use (e.g. 512M, 1.5G): the context, then the parallel sequences, shrink to fit, or loading is refused with the numbers; the cgroup limit applies too');
}

/** `topP` is `--top-p`: every sampling flag is named after its field in the core's contract. */
export function samplingFlag(field: string): string {
  return `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Flags shared by `run` and `chat`: the model, the system prompt, and how to sample (from the core's sampling contract). */
export function addGenerationOptions(command: Command): Command {
  addModelOptions(command)
    .option('-s, --system <text>', 'system prompt')
    .option('-n, --max-tokens <n>', 'stop after this many answer tokens', String(DEFAULT_MAX_TOKENS));
  for (const field of Object.keys(SAMPLING_FIELDS) as SamplingField[]) {
    const fallback = (SAMPLING_DEFAULTS as Partial<Record<SamplingField, number>>)[field];
    command.option(`${samplingFlag(field)} <value>`, SAMPLING_FIELDS[field].description ?? field, fallback === undefined ? undefined : String(fallback));
  }
  return command
    .option('--stop <text...>', 'stop when the answer contains this text (repeatable); the text is not printed')
    .option('--json-schema <file>', 'answer with JSON valid against this JSON schema (a file; the keywords README.md lists)')
    .option('--grammar <file>', 'answer in this grammar (a GBNF file, as llama.cpp reads it)')
    .option('--tools <file>', 'functions the model may call: a JSON list of OpenAI tools ({type: "function", function: {name, description, parameters}}) or of {name, description, parameters}')
    .option('--tool-choice <choice>', 'with --tools: auto, none, required, or a tool name', 'auto');
}

export type GenerationFlags = ModelFlags & Partial<Record<SamplingField, string>> & {
  system?: string;
  maxTokens: string;
  stop?: string[];
  jsonSchema?: string;
  grammar?: string;
  tools?: string;
  toolChoice: string;
};

function numberFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidOptionError(flag, `"${value}" is not a number`);
  return n;
}

/** A whole-number flag in [min, max]; a bad value names its flag. */
export function wholeNumberFlag(flag: string, value: string | undefined, min: number, max: number): number | undefined {
  const n = numberFlag(flag, value);
  if (n !== undefined && (!Number.isInteger(n) || n < min || n > max)) throw new InvalidOptionError(flag, `expected a whole number from ${min} to ${max}, got ${value}`);
  return n;
}

export interface ModelFlags {
  model?: string;
  engine: string;
  backend: string;
  priority?: string;
  ctx: string;
  threads?: string;
  decodeThreads?: string;
  tokenizer?: string;
  memoryBudget?: string;
}

/** The model flags as options for `openModel`/`openRunner`/`openChat`. */
export function parseModelFlags(flags: ModelFlags): OpenModelOptions {
  const threads = wholeNumberFlag('--threads', flags.threads, 1, 1024);
  const decodeThreads = wholeNumberFlag('--decode-threads', flags.decodeThreads, 1, 1024);
  const priority = priorityFlag(flags.priority ?? process.env.ONBOARD_PRIORITY);
  return {
    // An empty --model is a mistake, not a request for the default model: the resolver refuses it.
    ...(flags.model !== undefined ? { model: flags.model } : {}),
    ...(priority ? { priority } : {}),
    backend: flags.backend as BackendRequest,
    engine: flags.engine as EngineRequest,
    contextSize: wholeNumberFlag('--ctx', flags.ctx, MIN_CONTEXT_SIZE, 1 << 24)!,
    ...(threads ? { threads } : {}),
    ...(decodeThreads ? { decodeThreads } : {}),
    ...(flags.tokenizer !== undefined ? { tokenizer: flags.tokenizer } : {}),
    ...(flags.memoryBudget !== undefined ? { memoryBudgetBytes: sizeFlag('--memory-budget', flags.memoryBudget) } : {}),
  };
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** A size: bytes, or a number with K, M, G or T (binary units; "MiB", "MB" and "M" all mean 2^20). */
export function sizeFlag(flag: string, value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(value);
  const bytes = match ? Number(match[1]) * SIZE_UNITS[match[2]!.toLowerCase()]! : NaN;
  if (!Number.isFinite(bytes) || bytes < 2 ** 20) throw new InvalidOptionError(flag, `expected a size of at least 1M such as 512M or 1.5G, got "${value}"`);
  return Math.floor(bytes);
}

/** An empty stop string would end every answer before its first character. */
function stopFlag(stop: string[] | undefined): string[] {
  if (stop?.some((s) => s === '')) throw new InvalidOptionError('--stop', 'an empty stop string would end every answer at once');
  return stop ?? [];
}

/** `--priority npu,gpu,cpu`: each item a class or a backend; an unknown one is named. */
function priorityFlag(value: string | undefined): PriorityItem[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const { priority, unknown } = parsePriority(value);
  if (unknown.length || priority.length === 0) throw new InvalidOptionError('--priority', `unknown item${unknown.length > 1 ? 's' : ''} ${unknown.join(', ') || value}; use ${PRIORITY_ITEMS.join(', ')}`);
  return priority;
}

/**
 * Turns raw flags into validated chat options; the sampling flags become the
 * session's defaults for every answer. A bad value names its flag.
 */
export function parseGenerationFlags(flags: GenerationFlags): OpenChatOptions {
  const sampling: Record<string, number | undefined> = {};
  for (const field of Object.keys(SAMPLING_FIELDS) as SamplingField[]) sampling[field] = numberFlag(samplingFlag(field), flags[field]);
  const checked = samplingOverridesSchema.safeParse(sampling);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    throw new InvalidOptionError(samplingFlag(key), z.prettifyError(new z.ZodError([issue])).replace(/^✖\s*/, '').split('\n')[0] ?? issue.message);
  }
  return {
    ...parseModelFlags(flags),
    ...(flags.system ? { systemPrompt: flags.system } : {}),
    defaults: {
      sampling: checked.data,
      maxTokens: wholeNumberFlag('--max-tokens', flags.maxTokens, 1, MAX_TOKENS_LIMIT)!,
      stop: stopFlag(flags.stop),
      ...constraintFlags(flags),
      ...toolFlags(flags),
    },
  };
}

/** `--tools <file>` and `--tool-choice`: the functions every answer may call. */
function toolFlags(flags: GenerationFlags): { tools?: ToolDefinition[]; toolChoice?: ToolChoice } {
  if (flags.tools === undefined) return {};
  let list: unknown;
  try {
    list = JSON.parse(readFlagFile('--tools', flags.tools));
  } catch (error) {
    if (error instanceof InvalidOptionError) throw error;
    throw new InvalidOptionError('--tools', `${flags.tools} is not JSON: ${(error as Error).message}`);
  }
  const parsed = z.array(toolEntry).min(1).safeParse(list);
  if (!parsed.success) throw new InvalidOptionError('--tools', `${flags.tools} is not a list of tools: ${parsed.error.issues[0]!.path.join('.') || 'the list'}: ${parsed.error.issues[0]!.message}`);
  const tools = parsed.data.map((entry) => toolDefinition('function' in entry ? entry.function : entry));
  const choice: ToolChoice = ['auto', 'none', 'required'].includes(flags.toolChoice) ? (flags.toolChoice as ToolChoice) : { name: flags.toolChoice };
  checkTools(tools, choice);
  return { tools, toolChoice: choice };
}

const toolFields = z.object({ name: z.string(), description: z.string().optional(), parameters: z.record(z.string(), z.unknown()).optional() });
const toolEntry = z.union([z.object({ type: z.literal('function'), function: toolFields }), toolFields]);

/** `--json-schema <file>` or `--grammar <file>`: the constraint every answer keeps to. */
function constraintFlags(flags: GenerationFlags): { constraint?: OutputConstraint } {
  if (flags.jsonSchema !== undefined && flags.grammar !== undefined) throw new InvalidOptionError('--grammar', 'give --json-schema or --grammar, not both');
  if (flags.grammar !== undefined) return { constraint: { kind: 'grammar', grammar: readFlagFile('--grammar', flags.grammar) } };
  if (flags.jsonSchema === undefined) return {};
  const text = readFlagFile('--json-schema', flags.jsonSchema);
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    throw new InvalidOptionError('--json-schema', `${flags.jsonSchema} is not JSON: ${(error as Error).message}`);
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new InvalidOptionError('--json-schema', `${flags.jsonSchema} holds no JSON schema object`);
  const constraint: OutputConstraint = { kind: 'json-schema', schema: schema as JsonSchema };
  checkConstraint(constraint);
  return { constraint };
}

/** A text file named by a flag; one that cannot be read names the flag. */
function readFlagFile(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new InvalidOptionError(flag, `${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}
