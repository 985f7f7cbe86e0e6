/**
 * The native ExecuTorch host: a Node process that loads onboard's addon over
 * ExecuTorch's C++ runtime and serves the engine adapter over stdin/stdout,
 * with the same JSON-lines protocol as the Python host (docs/executorch-host.md).
 * A runtime abort (a damaged delegate blob) ends this process, not the app.
 *
 * Usage: node native-host.js <path of onboard_executorch.node>
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { LogitSampler } from '../../core/logit-sampler.js';
import type { SamplingOptions } from '../../core/sampling.js';
import { HOST_PROTOCOL_VERSION } from './host-protocol.js';
import { loadNativeAddon, type NativeAddon, type NativeProgram } from './native-addon.js';
// Types only: xgrammar itself is loaded on the first constrained answer, not at every host start.
import type { GrammarMasker, GrammarMatch } from '../grammar/xgrammar-masker.js';

class HostError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** ExecuTorch's ScalarType::Long: token ids and positions are int64. */
const INT64 = 4;

interface Sequence {
  position: number;
  /** The last sampled token, not yet in the KV cache. */
  pending: number | undefined;
  /** Tokens in the KV cache, for the repetition penalties. */
  history: number[];
  sampler: LogitSampler | undefined;
  /** The token after `pending`, computed ahead while the adapter was busy with `pending` (see stepAhead). */
  ahead: number | undefined;
  /** The answer's place in its grammar, when it has one. */
  match: GrammarMatch | undefined;
  /** Temperature 0: the likeliest token, always. */
  greedy: boolean;
  /** How many alternatives to report with each token's log probability; undefined: none asked. */
  logprobs: number | undefined;
  /** The log probability of the token forwardAndSample last picked, and of the one computed ahead. */
  sampledLogprob: Logprob | undefined;
  aheadLogprob: Logprob | undefined;
}

interface Logprob {
  logprob: number;
  /** [token, logprob], best first. */
  top: Array<[number, number]>;
}

class NativeHost {
  private program: NativeProgram | undefined;
  private sequences: Sequence[] = [];
  private maxSeqLen = 0;
  /** One logits row, reused by every forward (the addon writes into it). */
  private logits: Float32Array = new Float32Array(0);
  /** A copy of the logits row, for greedy's try before the grammar's mask. */
  private spare: Float32Array = new Float32Array(0);
  /** The row as the model gave it, for log probabilities. */
  private raw: Float32Array = new Float32Array(0);
  private grammarSource: { tokenizer: string; stopIds: number[]; vocabularySize: number } | undefined;
  private masker: Promise<GrammarMasker> | undefined;
  /** Threads for a prompt (the pool's all) and for a one-token step. */
  private batchThreads = 1;
  private threadsInUse = 1;
  private stepThreads = 1;

  constructor(private readonly addon: NativeAddon) {}

  hello(): Record<string, unknown> {
    return { protocol: HOST_PROTOCOL_VERSION, executorch: 'native', backends: this.addon.backends() };
  }

  load(request: Record<string, unknown>): Record<string, unknown> {
    const started = performance.now();
    try {
      this.program = new this.addon.Program(String(request.pte), Number(request.sequences ?? 1));
    } catch (error) {
      const code = (error as { code?: string }).code === 'NO_FORWARD' ? 'NOT_AN_LLM' : 'LOAD_FAILED';
      throw new HostError(code, (error as Error).message);
    }
    // A language model's forward takes token ids [1, n] and a start position [1], both int64.
    const inputs = this.program.forwardInputs();
    if (inputs.length !== 2 || inputs.some((input) => input.dtype !== INT64)) {
      throw new HostError('NOT_AN_LLM', `forward takes ${inputs.length} input(s) (${JSON.stringify(inputs)}), not int64 token ids and an int64 start position`);
    }
    this.sequences = Array.from({ length: Number(request.sequences ?? 1) }, () => ({ position: 0, pending: undefined, history: [], sampler: undefined, ahead: undefined, match: undefined, greedy: false, logprobs: undefined, sampledLogprob: undefined, aheadLogprob: undefined }));
    this.maxSeqLen = Number(request.max_seq_len);
    this.planThreads(typeof request.decode_threads === 'number' ? request.decode_threads : undefined);
    if (typeof request.tokenizer === 'string') {
      this.grammarSource = { tokenizer: request.tokenizer, stopIds: (request.stop_ids as number[] | undefined) ?? [], vocabularySize: Number(request.vocab_size) };
    }
    return { load_ms: Math.round(performance.now() - started), threads: this.batchThreads, decode_threads: this.stepThreads };
  }

  /**
   * A one-token step can take its own thread count, as llama.cpp's do: `decodeThreads` when
   * given (a big.LITTLE phone may decode faster on its big cores alone), else the pool's all, as
   * ExecuTorch's runner does. Unlike llama.cpp's, this pool keeps its threads between steps, and
   * measured on 2 vCPUs two threads beat one in `onboard run` and in the server alike
   * (docs/benchmarks.md, "Decode threads"), so a trial would only cost its slower steps.
   * A pool that cannot change its count (an older pthreadpool) keeps it for both.
   */
  private planThreads(decodeThreads: number | undefined): void {
    this.batchThreads = this.threadsInUse = this.stepThreads = this.addon.threads();
    if (decodeThreads === undefined || decodeThreads >= this.batchThreads) return;
    // The pool says whether it can change its count: setThreads reads the count back.
    const adjustable = this.addon.setThreads(decodeThreads) === decodeThreads;
    this.threadsInUse = this.addon.setThreads(this.batchThreads);
    if (adjustable) this.stepThreads = decodeThreads;
  }

  /** Runs the program's forward on the thread count for `tokens` tokens. */
  private forward(seq: number, tokens: number[], start: number): Float32Array {
    const threads = tokens.length === 1 ? this.stepThreads : this.batchThreads;
    if (threads !== this.threadsInUse) this.threadsInUse = this.addon.setThreads(threads);
    return this.program!.forward(seq, Int32Array.from(tokens), start, this.logits);
  }

  async prefill(request: Record<string, unknown>): Promise<Record<string, unknown>> {
    const sequence = this.sequence(request);
    const start = Number(request.start_pos);
    const tokens = request.tokens as number[];
    if (!Array.isArray(tokens) || tokens.length === 0) throw new HostError('BAD_REQUEST', 'prefill needs at least one token');
    if (start + tokens.length > this.maxSeqLen) throw new HostError('CONTEXT_FULL', `${start + tokens.length} tokens exceed the program's ${this.maxSeqLen}`);
    sequence.ahead = undefined;
    sequence.sampler = new LogitSampler(request.sampling as SamplingOptions, this.addon.argmax);
    sequence.greedy = (request.sampling as SamplingOptions).temperature <= 0;
    sequence.logprobs = typeof request.logprobs === 'number' ? request.logprobs : undefined;
    sequence.match?.dispose();
    sequence.match = undefined;
    if (typeof request.grammar === 'string') sequence.match = await this.startGrammar(request.grammar);
    const token = await this.forwardAndSample(request, sequence, tokens, start);
    return { token, ...(sequence.sampledLogprob ? { logprob: sequence.sampledLogprob } : {}) };
  }

  /** A matcher at the start of `grammar`, over the tokenizer's vocabulary (read once, on the first grammar). */
  private async startGrammar(grammar: string): Promise<GrammarMatch> {
    const source = this.grammarSource;
    if (!source) throw new HostError('BAD_REQUEST', 'a grammar needs the tokenizer, which the load request did not name');
    this.masker ??= (async () => {
      const { GrammarMasker, vocabularyOf } = await import('../grammar/xgrammar-masker.js');
      const vocabulary = vocabularyOf(JSON.parse(readFileSync(source.tokenizer, 'utf8')) as Parameters<typeof vocabularyOf>[0]);
      return GrammarMasker.create(vocabulary, source.vocabularySize || vocabulary.tokens.length, source.stopIds);
    })();
    try {
      return await (await this.masker).start(grammar);
    } catch (error) {
      this.masker = undefined; // xgrammar may have aborted its instance: build a fresh one next time
      throw new HostError('BAD_GRAMMAR', (error as Error).message);
    }
  }

  async step(request: Record<string, unknown>): Promise<Record<string, unknown>> {
    const sequence = this.sequence(request);
    if (sequence.ahead !== undefined) {
      sequence.pending = sequence.ahead;
      sequence.ahead = undefined;
      return { token: sequence.pending, ...(sequence.aheadLogprob ? { logprob: sequence.aheadLogprob } : {}) };
    }
    if (sequence.pending === undefined) throw new HostError('BAD_REQUEST', 'step before prefill');
    if (sequence.position >= this.maxSeqLen) throw new HostError('CONTEXT_FULL', `the program holds ${this.maxSeqLen} tokens`);
    const token = await this.forwardAndSample(request, sequence, [sequence.pending], sequence.position);
    return { token, ...(sequence.sampledLogprob ? { logprob: sequence.sampledLogprob } : {}) };
  }

  /**
   * Runs after a token's reply is written: evaluates that token and samples the
   * next, so the next `step` is answered at once and the adapter's round trip
   * overlaps the forward. Nearly every token is followed by a step; when one is
   * not (a stop, an abort, a new prompt), the position written ahead is simply
   * overwritten by the next prefill, which names its own start. Exactly the same
   * tokens and sampler draws as stepping one by one.
   */
  async stepAhead(request: Record<string, unknown>): Promise<void> {
    const sequence = this.sequences[Number(request.seq ?? 0)];
    if (!sequence || sequence.pending === undefined || sequence.ahead !== undefined || sequence.position >= this.maxSeqLen || sequence.match?.terminated) return;
    const { pending, position } = sequence;
    const kept = sequence.history.length;
    try {
      sequence.ahead = await this.forwardAndSample(request, sequence, [pending], position);
      sequence.aheadLogprob = sequence.sampledLogprob;
      sequence.pending = pending; // what the adapter holds until it steps
    } catch {
      // The real step meets the same failure and reports it.
      Object.assign(sequence, { pending, position, ahead: undefined });
      sequence.history.length = kept;
    }
  }

  private sequence(request: Record<string, unknown>): Sequence {
    if (!this.program) throw new HostError('NOT_LOADED', 'no program is loaded');
    const sequence = this.sequences[Number(request.seq ?? 0)];
    if (!sequence) throw new HostError('BAD_REQUEST', `no sequence ${String(request.seq)}`);
    return sequence;
  }

  private async forwardAndSample(request: Record<string, unknown>, sequence: Sequence, tokens: number[], start: number): Promise<number> {
    try {
      // Damaged weights load without complaint and then give NaN: the addon refuses those (BAD_LOGITS).
      this.logits = this.forward(Number(request.seq ?? 0), tokens, start);
    } catch (error) {
      throw new HostError((error as { code?: string }).code === 'BAD_LOGITS' ? 'BAD_LOGITS' : 'FORWARD_FAILED', (error as Error).message);
    }
    const logits = this.logits;
    sequence.position = start + tokens.length;
    sequence.history.length = Math.min(sequence.history.length, start);
    sequence.history.push(...tokens);
    // Log probabilities are the model's own (the raw row), before penalties, grammar or sampling filters.
    const distribution = sequence.logprobs !== undefined ? logSoftmaxTop(logits, sequence.logprobs) : undefined;
    const raw = distribution ? (this.raw.length === logits.length ? this.raw : (this.raw = new Float32Array(logits.length))) : undefined;
    raw?.set(logits);
    const token = sequence.match ? await this.sampleInGrammar(sequence, sequence.match, logits) : sequence.sampler!.sample(logits, sequence.history);
    sequence.sampledLogprob = distribution ? { logprob: raw![token]! - distribution.logSum, top: distribution.top } : undefined;
    sequence.pending = token;
    return token;
  }

  /**
   * A token the grammar allows. Greedy first tries the likeliest token, which
   * is the answer whenever the grammar allows it, and computes the grammar's
   * mask only when it does not (most tokens of a JSON answer pass): the same
   * token as masking first, at a fraction of the cost. Sampling masks first,
   * so it draws from exactly the allowed tokens.
   */
  private async sampleInGrammar(sequence: Sequence, match: GrammarMatch, logits: Float32Array): Promise<number> {
    const sampler = sequence.sampler!;
    if (sequence.greedy) {
      if (this.spare.length !== logits.length) this.spare = new Float32Array(logits.length);
      this.spare.set(logits); // the sampler's penalties change the row it is given
      const likeliest = sampler.sample(this.spare, sequence.history);
      if (match.accept(likeliest)) return likeliest;
    }
    await match.mask(logits);
    const token = sampler.sample(logits, sequence.history);
    if (!match.accept(token)) throw new HostError('GRAMMAR_REJECTED', `token ${token} was sampled outside the grammar`);
    return token;
  }
}

/** log(sum(exp(row))) and the `count` likeliest tokens with their log probabilities, best first. */
function logSoftmaxTop(row: Float32Array, count: number): { logSum: number; top: Array<[number, number]> } {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  const logSum = max + Math.log(sum);
  const best: number[] = [];
  for (let id = 0; id < row.length && count > 0; id++) {
    if (best.length === count && row[id]! <= row[best[count - 1]!]!) continue;
    let at = best.length === count ? count - 1 : best.length;
    while (at > 0 && row[best[at - 1]!]! < row[id]!) {
      best[at] = best[at - 1]!;
      at--;
    }
    best[at] = id;
  }
  return { logSum, top: best.map((id) => [id, row[id]! - logSum]) };
}

function main(): void {
  const addonPath = process.argv[2];
  let addon: NativeAddon | undefined;
  let loadError: string | undefined;
  try {
    addon = loadNativeAddon(addonPath!);
  } catch (error) {
    loadError = `the addon ${addonPath} does not load: ${(error as Error).message}`;
  }
  const host = addon ? new NativeHost(addon) : undefined;
  const handlers: Record<string, (request: Record<string, unknown>) => Record<string, unknown> | Promise<Record<string, unknown>>> = host
    ? { hello: () => host.hello(), load: (r) => host.load(r), prefill: (r) => host.prefill(r), step: (r) => host.step(r) }
    : {};
  // Requests are served one at a time, in order: a grammar's first compilation is asynchronous.
  let queue = Promise.resolve();
  createInterface({ input: process.stdin }).on('line', (line) => {
    queue = queue.then(() => serve(line));
  });
  async function serve(line: string): Promise<void> {
    if (!line.trim()) return;
    let request: Record<string, unknown> = {};
    let reply: Record<string, unknown>;
    try {
      request = JSON.parse(line) as Record<string, unknown>;
      if (loadError) throw new HostError('ADDON_UNAVAILABLE', loadError);
      const handler = handlers[String(request.op)];
      if (!handler) throw new HostError('BAD_REQUEST', `unknown op ${JSON.stringify(request.op)}`);
      reply = { id: request.id, ok: true, ...(await handler(request)) };
    } catch (error) {
      const code = error instanceof HostError ? error.code : 'HOST_ERROR';
      reply = { id: request.id, ok: false, error: { code, message: (error as Error).message } };
    }
    // Pipes to stdout are synchronous on Linux: the reply is out before the next forward starts.
    process.stdout.write(`${JSON.stringify(reply)}\n`);
    if (host && reply.ok && (request.op === 'prefill' || request.op === 'step')) await host.stepAhead(request);
  }
}

main();
