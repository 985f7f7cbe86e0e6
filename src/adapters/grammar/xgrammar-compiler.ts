import { GrammarInvalidError, SchemaUnsupportedError } from '../../core/errors.js';
import { type ConstraintGrammar, type GrammarCompiler, type OutputConstraint } from '../../core/output-constraint.js';
import { callSchema, TOOL_CALL_CLOSE, TOOL_CALL_OPEN } from '../../core/tools.js';
import { renameRule } from './ebnf-text.js';
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
      const schema = constraint.kind === 'json-object' ? { type: 'object' } : constraint.kind === 'tool-calls' ? callSchema(toolsOf(constraint)) : constraint.schema;
      const grammar = await xg.Grammar.fromJSONSchema(JSON.stringify(schema), false, NO_INDENT, SEPARATORS, constraint.kind !== 'json-object');
      const text = grammar.toString();
      grammar.dispose();
      // xgrammar warns, and carries on, when it drops part of a schema: that answer could break the schema.
      const warnings = takeMessages().filter((line) => line.startsWith('[WARNING]'));
      if (warnings.length > 0) throw new SchemaUnsupportedError('#', describeXgrammarFailure(warnings, undefined));
      return { text: constraint.kind === 'tool-calls' ? toolCallGrammar(text, constraint) : text };
    } catch (error) {
      if (error instanceof SchemaUnsupportedError) throw error;
      const reason = describeXgrammarFailure(takeMessages(), error);
      if (constraint.kind !== 'grammar') throw new SchemaUnsupportedError('#', `xgrammar cannot turn it into a grammar: ${reason}`);
      throw new GrammarInvalidError(reason);
    }
  });
}

type ToolCallsConstraint = Extract<OutputConstraint, { kind: 'tool-calls' }>;

/** The tools a call may name: one when the choice names it. */
function toolsOf(constraint: ToolCallsConstraint) {
  const { choice } = constraint;
  return typeof choice === 'object' ? constraint.tools.filter((tool) => tool.name === choice.name) : constraint.tools;
}

/**
 * Calls in the tool-call format around the calls' JSON grammar: one call, or
 * several separated by a newline when parallel calls are allowed; with choice
 * `auto`, text that does not start with `<` instead.
 */
function toolCallGrammar(callJson: string, constraint: ToolCallsConstraint): string {
  const literal = (text: string) => JSON.stringify(text);
  const rules = [
    renameRule(callJson, 'root', 'tool_call_json'),
    `tool_call ::= ${literal(TOOL_CALL_OPEN)} tool_call_json ${literal(TOOL_CALL_CLOSE)}`,
    constraint.parallel ? 'tool_calls ::= tool_call ("\\n" tool_call)*' : 'tool_calls ::= tool_call',
    constraint.choice === 'auto' ? 'root ::= tool_calls | [^<] [^\\x00]*' : 'root ::= tool_calls',
  ];
  return rules.join('\n');
}
