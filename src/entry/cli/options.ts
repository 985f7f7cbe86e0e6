import { Command, Option } from 'commander';
import { z } from 'zod';
import { InvalidOptionError } from '../../core/errors.js';
import { parsePriority, PRIORITY_ITEMS, type PriorityItem } from '../../core/artifact-plan.js';
import { samplingSchema, type SamplingInput } from '../../core/sampling.js';
import type { BackendRequest } from '../../core/types.js';
import { DEFAULT_CONTEXT_SIZE, MIN_CONTEXT_SIZE, type EngineRequest, type OpenChatOptions, type OpenModelOptions } from '../../composition.js';
import { DEFAULT_MAX_TOKENS } from '../../core/model-runner.js';

/** Flags that pick the model and where it runs: `run`, `chat` and `serve`. */
export function addModelOptions(command: Command): Command {
  return command
    .option('-m, --model <id|path>', 'model id (`onboard models list`) or path to a .gguf or .pte file (default: the default model, fetched on first use)')
    .addOption(new Option('-e, --engine <engine>', 'auto runs a .pte with ExecuTorch and a GGUF with llama.cpp').choices(['auto', 'executorch', 'llamacpp']).default('auto'))
    .addOption(new Option('-b, --backend <backend>', 'where to run: auto picks the best available and falls back').choices(['auto', 'cpu', 'vulkan', 'cuda']).default('auto'))
    .option('--priority <list>', 'for a model with several artifacts: accelerators to try, best first (classes npu, gpu, cpu or backends qnn, vulkan, cuda, xnnpack...); default $ONBOARD_PRIORITY, else npu,gpu,cpu')
    .option('-c, --ctx <tokens>', 'context window in tokens', String(DEFAULT_CONTEXT_SIZE))
    .option('-t, --threads <n>', 'CPU threads (default: the physical cores)')
    .option('--tokenizer <path>', "for a .pte: its tokenizer (a Hugging Face tokenizer.json, or the folder holding it); default: the one beside the .pte");
}

/** Flags shared by `run` and `chat`: the model, the system prompt, and how to sample. */
export function addGenerationOptions(command: Command): Command {
  return addModelOptions(command)
    .option('-s, --system <text>', 'system prompt')
    .option('-n, --max-tokens <n>', 'stop after this many answer tokens', String(DEFAULT_MAX_TOKENS))
    .option('--temperature <t>', 'randomness; 0 is greedy (always the likeliest token)', '0.7')
    .option('--top-k <k>', 'sample among the k likeliest tokens (0: all)', '40')
    .option('--top-p <p>', 'sample among the likeliest tokens whose probabilities add up to p', '0.95')
    .option('--min-p <p>', 'drop tokens less likely than p times the likeliest', '0.05')
    .option('--repeat-penalty <x>', 'penalty for repeating recent tokens (1: off)', '1.1')
    .option('--repeat-last-n <n>', 'how many recent tokens the repeat penalty looks at', '64')
    .option('--frequency-penalty <x>', 'penalty growing with how often a token appeared', '0')
    .option('--presence-penalty <x>', 'penalty for any token that appeared', '0')
    .option('--seed <n>', 'random seed; the same seed and input give the same answer')
    .option('--stop <text...>', 'stop when the answer contains this text (repeatable); the text is not printed');
}

export interface GenerationFlags extends ModelFlags {
  system?: string;
  maxTokens: string;
  temperature: string;
  topK: string;
  topP: string;
  minP: string;
  repeatPenalty: string;
  repeatLastN: string;
  frequencyPenalty: string;
  presencePenalty: string;
  seed?: string;
  stop?: string[];
}

const flagNames: Record<string, string> = {
  temperature: '--temperature',
  topK: '--top-k',
  topP: '--top-p',
  minP: '--min-p',
  repeatPenalty: '--repeat-penalty',
  repeatLastN: '--repeat-last-n',
  frequencyPenalty: '--frequency-penalty',
  presencePenalty: '--presence-penalty',
  seed: '--seed',
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
  tokenizer?: string;
}

/** The model flags as options for `openModel`/`openRunner`/`openChat`. */
export function parseModelFlags(flags: ModelFlags): OpenModelOptions {
  const threads = wholeNumberFlag('--threads', flags.threads, 1, 1024);
  const priority = priorityFlag(flags.priority ?? process.env.ONBOARD_PRIORITY);
  return {
    // An empty --model is a mistake, not a request for the default model: the resolver refuses it.
    ...(flags.model !== undefined ? { model: flags.model } : {}),
    ...(priority ? { priority } : {}),
    backend: flags.backend as BackendRequest,
    engine: flags.engine as EngineRequest,
    contextSize: wholeNumberFlag('--ctx', flags.ctx, MIN_CONTEXT_SIZE, 1 << 24)!,
    ...(threads ? { threads } : {}),
    ...(flags.tokenizer !== undefined ? { tokenizer: flags.tokenizer } : {}),
  };
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
  const sampling: SamplingInput = {
    temperature: numberFlag('--temperature', flags.temperature),
    topK: numberFlag('--top-k', flags.topK),
    topP: numberFlag('--top-p', flags.topP),
    minP: numberFlag('--min-p', flags.minP),
    repeatPenalty: numberFlag('--repeat-penalty', flags.repeatPenalty),
    repeatLastN: numberFlag('--repeat-last-n', flags.repeatLastN),
    frequencyPenalty: numberFlag('--frequency-penalty', flags.frequencyPenalty),
    presencePenalty: numberFlag('--presence-penalty', flags.presencePenalty),
    seed: numberFlag('--seed', flags.seed),
  };
  const checked = samplingSchema.safeParse(sampling);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    const key = String(issue.path[0] ?? '');
    throw new InvalidOptionError(flagNames[key] ?? key, z.prettifyError(new z.ZodError([issue])).replace(/^✖\s*/, '').split('\n')[0] ?? issue.message);
  }
  return {
    ...parseModelFlags(flags),
    ...(flags.system ? { systemPrompt: flags.system } : {}),
    defaults: { sampling, maxTokens: wholeNumberFlag('--max-tokens', flags.maxTokens, 1, 1 << 20)!, stop: stopFlag(flags.stop) },
  };
}
