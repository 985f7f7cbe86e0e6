import { GrammarInvalidError, SchemaUnsupportedError } from './errors.js';
import { checkTools, type ToolCallRequest } from './tools.js';

/** A JSON schema, as a plain object (JSON Schema 2020-12 keywords; see SCHEMA_KEYWORDS for the ones kept). */
export type JsonSchema = { readonly [keyword: string]: unknown };

/**
 * What an answer must look like, token by token: valid against a JSON schema,
 * any JSON object, or a string of a grammar (GBNF, as llama.cpp and xgrammar read it).
 */
export type OutputConstraint =
  | { kind: 'json-schema'; schema: JsonSchema }
  | { kind: 'json-object' }
  | { kind: 'grammar'; grammar: string }
  /** Calls in the tool-call format (tools.ts), or, with choice `auto`, text instead. */
  | ({ kind: 'tool-calls' } & ToolCallRequest);

/**
 * Turns a constraint into the grammar engines obey (the platform provides it:
 * xgrammar under Node). Its text is EBNF in xgrammar's dialect: GBNF plus
 * lookahead assertions, which only narrow what the grammar already allows.
 */
export interface GrammarCompiler {
  compile(constraint: OutputConstraint): Promise<ConstraintGrammar>;
}

export interface ConstraintGrammar {
  /** The grammar text; equal texts are the same grammar, so engines cache by it. */
  text: string;
}

/**
 * The JSON-schema keywords an answer is held to, each checked by a test that
 * a violating answer cannot be generated (test/output-constraint.test.ts).
 * Any other keyword is refused, naming it: ignoring it would let through
 * answers the schema forbids.
 */
export const SCHEMA_KEYWORDS = {
  annotations: ['title', 'description', 'default', 'examples', '$schema', '$id', '$comment', 'deprecated', 'readOnly', 'writeOnly'],
  any: ['type', 'enum', 'const', 'anyOf', 'oneOf', 'allOf', '$ref', '$defs', 'definitions'],
  object: ['properties', 'required', 'additionalProperties', 'patternProperties', 'propertyNames', 'minProperties', 'maxProperties'],
  array: ['items', 'prefixItems', 'minItems', 'maxItems'],
  string: ['minLength', 'maxLength', 'pattern', 'format'],
  number: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'],
} as const;

/** String formats that are enforced; others are refused. */
export const SCHEMA_FORMATS = ['date', 'time', 'date-time', 'email', 'uuid', 'uri', 'ipv4', 'ipv6', 'hostname'] as const;

const KNOWN = new Set<string>(Object.values(SCHEMA_KEYWORDS).flat());
const TYPES = new Set(['object', 'array', 'string', 'number', 'integer', 'boolean', 'null']);

/** Keywords whose value is a map of name to schema, a list of schemas, or one schema. */
const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions'];
const SCHEMA_LISTS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'];
const SCHEMA_VALUES = ['additionalProperties', 'items', 'propertyNames'];

/**
 * Checks that every keyword of `schema` is one the engines enforce; throws
 * SchemaUnsupportedError naming the first that is not, with its JSON pointer.
 */
export function checkJsonSchema(schema: unknown, path = '#'): void {
  if (typeof schema === 'boolean') return;
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) throw new SchemaUnsupportedError(path, 'a schema must be an object or a boolean');
  const node = schema as Record<string, unknown>;
  for (const keyword of Object.keys(node)) {
    if (!KNOWN.has(keyword)) throw new SchemaUnsupportedError(`${path}/${keyword}`, `the keyword "${keyword}" is not supported`, keyword);
  }
  checkValues(node, path);
  for (const keyword of SCHEMA_MAPS) {
    const map = node[keyword];
    if (map === undefined) continue;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new SchemaUnsupportedError(`${path}/${keyword}`, `${keyword} must be an object of schemas`, keyword);
    for (const [name, sub] of Object.entries(map)) checkJsonSchema(sub, `${path}/${keyword}/${escapePointer(name)}`);
  }
  for (const keyword of SCHEMA_LISTS) {
    const list = node[keyword];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.length === 0) throw new SchemaUnsupportedError(`${path}/${keyword}`, `${keyword} must be a non-empty list of schemas`, keyword);
    list.forEach((sub, index) => checkJsonSchema(sub, `${path}/${keyword}/${index}`));
  }
  for (const keyword of SCHEMA_VALUES) if (node[keyword] !== undefined) checkJsonSchema(node[keyword], `${path}/${keyword}`);
}

function checkValues(node: Record<string, unknown>, path: string): void {
  const types = node.type === undefined ? [] : Array.isArray(node.type) ? node.type : [node.type];
  for (const type of types) {
    if (typeof type !== 'string' || !TYPES.has(type)) throw new SchemaUnsupportedError(`${path}/type`, `"${String(type)}" is not a JSON type`, 'type');
  }
  if (node.format !== undefined && !(SCHEMA_FORMATS as readonly unknown[]).includes(node.format)) {
    throw new SchemaUnsupportedError(`${path}/format`, `the format "${String(node.format)}" is not supported (supported: ${SCHEMA_FORMATS.join(', ')})`, 'format');
  }
  // xgrammar enforces a lower bound reliably only with an upper one beside it.
  const lower = node.minimum ?? node.exclusiveMinimum;
  const upper = node.maximum ?? node.exclusiveMaximum;
  if (lower !== undefined && upper === undefined) {
    const keyword = node.minimum !== undefined ? 'minimum' : 'exclusiveMinimum';
    throw new SchemaUnsupportedError(`${path}/${keyword}`, `${keyword} is enforced only together with maximum (or exclusiveMaximum); add one`, keyword);
  }
  for (const keyword of SCHEMA_KEYWORDS.number) {
    if (node[keyword] !== undefined && typeof node[keyword] !== 'number') throw new SchemaUnsupportedError(`${path}/${keyword}`, `${keyword} must be a number`, keyword);
  }
  const ref = node.$ref;
  if (ref !== undefined && (typeof ref !== 'string' || !/^#(\/(\$defs|definitions)\/[^/]+)?$/.test(ref))) {
    throw new SchemaUnsupportedError(`${path}/$ref`, `only local references (#, #/$defs/name, #/definitions/name) are supported, not ${JSON.stringify(ref)}`, '$ref');
  }
}

/** RFC 6901: `~` and `/` in a name are escaped in a JSON pointer. */
function escapePointer(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Checks a constraint's own shape (a schema's keywords, a grammar's presence) before it is compiled. */
export function checkConstraint(constraint: OutputConstraint): void {
  if (constraint.kind === 'json-schema') checkJsonSchema(constraint.schema);
  if (constraint.kind === 'grammar' && !constraint.grammar.trim()) throw new GrammarInvalidError('the grammar is empty');
  if (constraint.kind === 'tool-calls') checkTools(constraint.tools, constraint.choice);
}
