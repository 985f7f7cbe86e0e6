import type { CompiledGrammar, GrammarCompiler, GrammarMatcher, TokenizerInfo } from '@mlc-ai/web-xgrammar';
import { describeXgrammarFailure, withXgrammar, xgrammar } from './xgrammar-module.js';

/** How xgrammar reads the strings of a vocabulary: GPT-2 byte-level (Ġ for a space), SentencePiece with <0xNN> byte tokens, or as they are. */
export type VocabularyType = 'BYTE_LEVEL' | 'BYTE_FALLBACK' | 'RAW';

export interface Vocabulary {
  /** Token strings by id, as the tokenizer file spells them. */
  tokens: string[];
  type: VocabularyType;
}

interface TokenizerJson {
  model?: { vocab?: Record<string, number> | Array<[string, number]> };
  added_tokens?: Array<{ id: number; content: string }>;
  pre_tokenizer?: unknown;
  decoder?: unknown;
}

/** A Hugging Face tokenizer.json's vocabulary and how its strings encode bytes (as xgrammar's from_huggingface decides). */
export function vocabularyOf(tokenizer: TokenizerJson): Vocabulary {
  const tokens: string[] = [];
  const vocab = tokenizer.model?.vocab ?? {};
  // BPE and WordPiece keep a map of string to id; Unigram a list of [string, score].
  if (Array.isArray(vocab)) vocab.forEach(([token], id) => (tokens[id] = token));
  else for (const [token, id] of Object.entries(vocab)) tokens[id] = token;
  for (const added of tokenizer.added_tokens ?? []) tokens[added.id] = added.content;
  for (let id = 0; id < tokens.length; id++) tokens[id] ??= '';
  const mentions = (part: unknown, type: string): boolean => JSON.stringify(part ?? null).includes(`"type":"${type}"`);
  const type: VocabularyType = mentions(tokenizer.pre_tokenizer, 'ByteLevel') ? 'BYTE_LEVEL' : mentions(tokenizer.decoder, 'ByteFallback') ? 'BYTE_FALLBACK' : mentions(tokenizer.decoder, 'ByteLevel') ? 'BYTE_LEVEL' : 'RAW';
  return { tokens, type };
}

/** One answer's progress through a grammar: which tokens may come next. */
export class GrammarMatch {
  constructor(
    private readonly matcher: GrammarMatcher,
    private readonly vocabularySize: number,
  ) {}

  /** Sets every token the grammar does not allow next to -Infinity. */
  async mask(logits: Float32Array): Promise<void> {
    const bitmask = await this.matcher.getNextTokenBitmask();
    const size = Math.min(logits.length, this.vocabularySize);
    for (let word = 0; word * 32 < size; word++) {
      const bits = bitmask[word]!;
      if (bits === -1) continue; // all 32 allowed
      const start = word * 32;
      const end = Math.min(size, start + 32);
      if (bits === 0) logits.fill(-Infinity, start, end);
      else for (let id = start; id < end; id++) if (((bits >>> (id - start)) & 1) === 0) logits[id] = -Infinity;
    }
    // Rows longer than the vocabulary (padding) are never allowed.
    for (let id = size; id < logits.length; id++) logits[id] = -Infinity;
  }

  /** Advances past `token`; false when the grammar does not allow it (the mask was not applied). */
  accept(token: number): boolean {
    return this.matcher.acceptToken(token);
  }

  /** True once the grammar is complete and its end-of-generation token accepted. */
  get terminated(): boolean {
    return this.matcher.isTerminated();
  }

  dispose(): void {
    this.matcher.dispose();
  }
}

/**
 * Grammars compiled against one model's vocabulary, and matchers over them:
 * what the ExecuTorch engine's sampler masks its logits with. Compiled
 * grammars are kept by text; a grammar's first compilation costs tens to
 * hundreds of milliseconds, its matcher per token tens of microseconds.
 */
export class GrammarMasker {
  private readonly compiled = new Map<string, CompiledGrammar>();

  private constructor(
    private readonly info: TokenizerInfo,
    private readonly compiler: GrammarCompiler,
    private readonly vocabularySize: number,
  ) {}

  static async create(vocabulary: Vocabulary, vocabularySize: number, stopTokenIds: readonly number[]): Promise<GrammarMasker> {
    const { xg } = xgrammar();
    const info = await xg.TokenizerInfo.createTokenizerInfo(vocabulary.tokens, vocabulary.type, false, vocabularySize, [...stopTokenIds]);
    const compiler = await xg.GrammarCompiler.createGrammarCompiler(info, true);
    return new GrammarMasker(info, compiler, vocabularySize);
  }

  /** A matcher at the start of `grammar` (EBNF, as the grammar compiler wrote it). */
  async start(grammar: string): Promise<GrammarMatch> {
    return withXgrammar(async ({ xg, takeMessages }) => {
      try {
        let compiled = this.compiled.get(grammar);
        if (!compiled) {
          compiled = await this.compiler.compileGrammar(grammar);
          if (this.compiled.size >= 32) this.evictOldest();
          this.compiled.set(grammar, compiled);
        }
        return new GrammarMatch(await xg.GrammarMatcher.createGrammarMatcher(compiled), this.vocabularySize);
      } catch (error) {
        throw new Error(`the grammar cannot be compiled: ${describeXgrammarFailure(takeMessages(), error)}`);
      }
    });
  }

  private evictOldest(): void {
    const [text, compiled] = this.compiled.entries().next().value!;
    this.compiled.delete(text);
    compiled.dispose();
  }

  dispose(): void {
    for (const compiled of this.compiled.values()) compiled.dispose();
    this.compiled.clear();
    this.compiler.dispose();
    this.info.dispose();
  }
}
