import { GrammarInvalidError, SchemaUnsupportedError } from '../../core/errors.js';
import { checkConstraint, type ConstraintGrammar, type GrammarCompiler, type OutputConstraint } from '../../core/output-constraint.js';
import { describeXgrammarFailure, withXgrammar } from './xgrammar-module.js';

/**
 * JSON is written on one line with OpenAI's separators: the fewest tokens,
 * in the style small models were trained on.
 */
const SEPARATORS: [string, string] = [', ', ': '];
const NO_INDENT = -1;

/**
 * The grammar compiler of the platform: xgrammar turns JSON schemas into its
 * EBNF, which the llama.cpp engine (as GBNF) and the ExecuTorch engine (with
 * xgrammar's own matcher) both enforce, so both engines accept the same answers.
 *
 * Objects list only the properties a schema declares (xgrammar's strict mode,
 * as OpenAI's `strict: true`): an answer never carries keys the app did not ask
 * for. `additionalProperties: true` or a schema allows more.
 */
export function createXgrammarCompiler(): GrammarCompiler {
  const cache = new Map<string, Promise<ConstraintGrammar>>();
  return {
    compile(constraint: OutputConstraint): Promise<ConstraintGrammar> {
      checkConstraint(constraint);
      const key = JSON.stringify(constraint);
      let grammar = cache.get(key);
      if (!grammar) {
        grammar = compileOnce(constraint);
        grammar.catch(() => cache.delete(key));
        if (cache.size >= 64) cache.delete(cache.keys().next().value!);
        cache.set(key, grammar);
      }
      return grammar;
    },
  };
}

function compileOnce(constraint: OutputConstraint): Promise<ConstraintGrammar> {
  return withXgrammar(async ({ xg, takeMessages }) => {
    try {
      if (constraint.kind === 'grammar') {
        (await xg.Grammar.fromEBNF(constraint.grammar)).dispose();
        return { text: constraint.grammar };
      }
      const schema = constraint.kind === 'json-object' ? { type: 'object' } : constraint.schema;
      const grammar = await xg.Grammar.fromJSONSchema(JSON.stringify(schema), false, NO_INDENT, SEPARATORS, constraint.kind === 'json-schema');
      const text = grammar.toString();
      grammar.dispose();
      // xgrammar warns, and carries on, when it drops part of a schema: that answer could break the schema.
      const warnings = takeMessages().filter((line) => line.startsWith('[WARNING]'));
      if (warnings.length > 0) throw new SchemaUnsupportedError('#', describeXgrammarFailure(warnings, undefined));
      return { text };
    } catch (error) {
      if (error instanceof SchemaUnsupportedError) throw error;
      const reason = describeXgrammarFailure(takeMessages(), error);
      if (constraint.kind === 'json-schema') throw new SchemaUnsupportedError('#', `xgrammar cannot turn it into a grammar: ${reason}`);
      throw new GrammarInvalidError(reason);
    }
  });
}
