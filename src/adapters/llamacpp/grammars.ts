import type { LlamaGrammar, LlamaModel } from 'node-llama-cpp';
import { GrammarInvalidError } from '../../core/errors.js';
import { ebnfToGbnf } from './gbnf.js';

/** llama.cpp grammars of one model, parsed once per grammar text (a JSON schema's grammar is reused across answers). */
export class LlamaGrammars {
  private readonly parsed = new Map<string, Promise<LlamaGrammar>>();

  constructor(private readonly model: LlamaModel) {}

  get(text: string): Promise<LlamaGrammar> {
    let grammar = this.parsed.get(text);
    if (!grammar) {
      grammar = this.model.llama.createGrammar({ grammar: ebnfToGbnf(text) }).catch((error: unknown) => {
        this.parsed.delete(text);
        throw new GrammarInvalidError(`llama.cpp cannot parse it: ${(error as Error).message.split('\n')[0]}`);
      });
      if (this.parsed.size >= 32) this.parsed.delete(this.parsed.keys().next().value!);
      this.parsed.set(text, grammar);
    }
    return grammar;
  }
}
