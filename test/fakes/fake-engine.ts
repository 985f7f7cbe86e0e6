// A FAKE engine for fast unit tests of the core (queue and pool, context policy, stop rules,
// streaming): no model, no native code. Tokens are the characters of the text (one token per
// UTF-16 code unit, offset so 0 can be the end-of-generation token), and every answer is a fixed
// script. The tests on the real model and engines stay; this only makes the core's logic testable
// in milliseconds.
import type { EngineGeneration, EngineSequence, LoadedModel } from '../../src/core/engine.js';
import { commonPrefixLength } from '../../src/core/engine.js';

const EOG = 0;
const OFFSET = 1;

export interface FakeEngineOptions {
  /** What every answer says, token by token (then the end-of-generation token). */
  answer?: string;
  contextSize?: number;
  /** Milliseconds between tokens, to let concurrent requests interleave. */
  tokenDelayMs?: number;
  /** Texts that are one token each when tokenized with `special` (default: ChatML's turn markers). */
  specialTokens?: readonly string[];
  architecture?: string;
}

/** Special tokens get ids above every character's. */
const SPECIAL_BASE = 0x20000;

export class FakeLoadedModel implements LoadedModel {
  readonly engine = 'fake';
  readonly loadMs = 0;
  readonly contextSize: number;
  readonly info: { path: string; architecture: string; trainContextSize: number; vocabularySize: number; addBosToken: boolean };
  readonly specialTokens: readonly string[];
  readonly backend = { backend: 'cpu', accelerator: 'cpu' as const, devices: [], reason: 'the fake engine', attempts: [] };
  readonly answer: string;
  readonly tokenDelayMs: number;
  /** Every prompt a sequence evaluated (what was prefilled), for assertions. */
  readonly prefilled: number[][] = [];

  constructor(options: FakeEngineOptions = {}) {
    this.contextSize = options.contextSize ?? 4096;
    this.answer = options.answer ?? 'Hello from the fake engine.';
    this.tokenDelayMs = options.tokenDelayMs ?? 0;
    this.specialTokens = options.specialTokens ?? ['<|im_start|>', '<|im_end|>'];
    this.info = { path: 'fake.model', architecture: options.architecture ?? 'fake', trainContextSize: 1 << 16, vocabularySize: 1 << 16, addBosToken: false };
  }

  tokenize(text: string, options: { special: boolean } = { special: false }): number[] {
    const ids: number[] = [];
    for (let at = 0; at < text.length; ) {
      const special = options.special ? this.specialTokens.findIndex((s) => text.startsWith(s, at)) : -1;
      if (special >= 0) {
        ids.push(SPECIAL_BASE + special);
        at += this.specialTokens[special]!.length;
      } else {
        ids.push(text.charCodeAt(at) + OFFSET);
        at++;
      }
    }
    return ids;
  }

  detokenize(tokens: readonly number[]): string {
    return tokens
      .filter((t) => t !== EOG)
      .map((t) => (t >= SPECIAL_BASE ? this.specialTokens[t - SPECIAL_BASE]! : String.fromCharCode(t - OFFSET)))
      .join('');
  }

  isEndOfGeneration(token: number): boolean {
    return token === EOG;
  }

  createSequence(): EngineSequence {
    return new FakeSequence(this);
  }

  async unload(): Promise<void> {}
}

class FakeSequence implements EngineSequence {
  cachedTokens: number[] = [];

  constructor(private readonly model: FakeLoadedModel) {}

  async begin(prompt: readonly number[]): Promise<EngineGeneration> {
    let common = commonPrefixLength(this.cachedTokens, prompt);
    if (common === prompt.length) common--;
    this.model.prefilled.push(prompt.slice(common));
    this.cachedTokens = [...prompt];
    const script = [...this.model.tokenize(this.model.answer), EOG];
    const delay = this.model.tokenDelayMs;
    const cache = this.cachedTokens;
    async function* tokens(): AsyncGenerator<number> {
      for (const token of script) {
        if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
        cache.push(token);
        yield token;
      }
    }
    return { reusedTokens: Math.max(common, 0), tokens: tokens() };
  }

  async clear(): Promise<void> {
    this.cachedTokens = [];
  }

  dispose(): void {}
}
