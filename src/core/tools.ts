import { SchemaUnsupportedError } from './errors.js';
import { checkJsonSchema, type JsonSchema } from './output-constraint.js';
import type { ChatMessage, ToolCall } from './types.js';

/** A function the model may call: its name, what it does, and its parameters as a JSON schema (an object). */
export interface ToolDefinition {
  name: string;
  description?: string;
  parameters: JsonSchema;
}

/** A tool as OpenAI-shaped input gives it (HTTP bodies, a --tools file): no parameters means it takes none. */
export function toolDefinition(tool: { name: string; description?: string | null; parameters?: Record<string, unknown> | null }): ToolDefinition {
  return { name: tool.name, ...(tool.description ? { description: tool.description } : {}), parameters: (tool.parameters as JsonSchema | null | undefined) ?? { type: 'object', properties: {} } };
}

/** Whether the model must call: `auto` (it chooses), `none`, `required` (at least one call), or one named tool. */
export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** The tools of one request, as the grammar compiler needs them. */
export interface ToolCallRequest {
  tools: readonly ToolDefinition[];
  choice: Exclude<ToolChoice, 'none'>;
  /** More than one call in an answer. */
  parallel: boolean;
}

const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The tool-call format, for models whose chat template does not describe
 * tools (documented in docs/structured-output.md): each call is a line of JSON
 * between <tool_call> tags, as Hermes and Qwen models write them. Answers are
 * generated under a grammar of exactly this shape, so it always parses.
 */
export const TOOL_CALL_OPEN = '<tool_call>\n';
export const TOOL_CALL_CLOSE = '\n</tool_call>';

/** Checks names (unique, OpenAI's alphabet), parameters (an object schema the engines enforce) and the choice. */
export function checkTools(tools: readonly ToolDefinition[], choice: ToolChoice): void {
  const seen = new Set<string>();
  tools.forEach((tool, index) => {
    if (!TOOL_NAME.test(tool.name)) throw new SchemaUnsupportedError(`tools/${index}/name`, `"${tool.name}" is not a name of 1 to 64 letters, digits, _ or -`, 'name');
    if (seen.has(tool.name)) throw new SchemaUnsupportedError(`tools/${index}/name`, `two tools are named "${tool.name}"`, 'name');
    seen.add(tool.name);
    if (tool.parameters.type !== undefined && tool.parameters.type !== 'object') throw new SchemaUnsupportedError(`tools/${index}/parameters/type`, 'a tool takes an object of arguments', 'type');
    checkJsonSchema(tool.parameters, `tools/${index}/parameters`);
  });
  if (typeof choice === 'object' && !seen.has(choice.name)) throw new SchemaUnsupportedError('tool_choice', `no tool is named "${choice.name}"`, 'name');
  if (choice === 'required' && tools.length === 0) throw new SchemaUnsupportedError('tool_choice', 'a call is required but no tool is given', 'tool_choice');
}

/** The JSON schema of one call: the tool's name and arguments valid against its parameters. */
export function callSchema(tools: readonly ToolDefinition[]): JsonSchema {
  const one = (tool: ToolDefinition): JsonSchema => ({
    type: 'object',
    properties: { name: { const: tool.name }, arguments: { type: 'object', ...tool.parameters } },
    required: ['name', 'arguments'],
  });
  return tools.length === 1 ? one(tools[0]!) : { anyOf: tools.map(one) };
}

/**
 * The conversation as a model without tool support in its template reads it:
 * the tools described in the system message, earlier calls written in the
 * call format, and tool results as user turns in <tool_response> tags.
 */
export function withToolsInText(messages: readonly ChatMessage[], tools: readonly ToolDefinition[]): ChatMessage[] {
  const described = tools.length > 0 ? describeTools(tools) : '';
  const out: ChatMessage[] = [];
  for (const message of messages) {
    if (message.role === 'assistant' && message.toolCalls?.length) {
      const calls = message.toolCalls.map((call) => `${TOOL_CALL_OPEN}${JSON.stringify({ name: call.name, arguments: call.arguments })}${TOOL_CALL_CLOSE}`).join('\n');
      out.push({ role: 'assistant', content: message.content ? `${message.content}\n${calls}` : calls });
    } else if (message.role === 'tool') {
      const response = `<tool_response>\n${message.content}\n</tool_response>`;
      const last = out[out.length - 1];
      // Results of one round of parallel calls go back in one turn.
      if (last?.role === 'user' && last.content.startsWith('<tool_response>')) last.content += `\n${response}`;
      else out.push({ role: 'user', content: response });
    } else out.push({ role: message.role, content: message.content });
  }
  if (!described) return out;
  if (out[0]?.role === 'system') out[0] = { role: 'system', content: `${out[0].content}\n\n${described}` };
  else out.unshift({ role: 'system', content: described });
  return out;
}

function describeTools(tools: readonly ToolDefinition[]): string {
  // Keys that say nothing to the model are left out: the prompt is short on small contexts.
  const quiet = (key: string, value: unknown) => (key === '$schema' || key === 'additionalProperties' ? undefined : value);
  const lines = tools.map((tool) => JSON.stringify({ name: tool.name, ...(tool.description ? { description: tool.description } : {}), parameters: tool.parameters }, quiet));
  return [
    '# Tools',
    'You may call one or more of these functions to help with the request:',
    '<tools>',
    ...lines,
    '</tools>',
    'To call one, answer with a JSON object holding its name and arguments inside <tool_call></tool_call> tags:',
    `${TOOL_CALL_OPEN}{"name": "<function name>", "arguments": {<arguments>}}${TOOL_CALL_CLOSE}`,
  ].join('\n');
}

/** The calls in an answer written in the call format, or none when the answer is text. */
export function parseToolCalls(text: string, newId: () => string): ToolCall[] {
  if (!text.startsWith(TOOL_CALL_OPEN)) return [];
  const calls: ToolCall[] = [];
  for (const block of text.split(TOOL_CALL_CLOSE)) {
    const json = block.replace(/^\n?<tool_call>\n/, '');
    if (!json.trim()) continue;
    const call = JSON.parse(json) as { name: string; arguments: Record<string, unknown> };
    calls.push({ id: newId(), name: call.name, arguments: call.arguments });
  }
  return calls;
}

/**
 * Follows an answer in the call format as it streams, for servers that send
 * calls as OpenAI does: a call's name as soon as it is known, then its
 * arguments in fragments. The grammar fixes the layout (name before arguments,
 * `", "` and `": "` separators), so the fragments join to the arguments' JSON.
 */
export class ToolCallStream {
  /** Calls or text: an answer in the call format starts with `<`, a text answer never does (the tools grammar says so). */
  private answer: 'undecided' | 'text' | 'calls' = 'undecided';
  private buffer = '';
  private index = -1;
  private inArguments = false;

  /**
   * Feeds text; returns what became known: a new call (`name`) or more of the
   * current call's arguments; undefined when the answer is text, not calls.
   */
  push(text: string): Array<{ index: number; name?: string; arguments: string }> | undefined {
    if (this.answer === 'undecided' && text) this.answer = text.startsWith('<') ? 'calls' : 'text';
    if (this.answer === 'text') return undefined;
    this.buffer += text;
    const out: Array<{ index: number; name?: string; arguments: string }> = [];
    for (;;) {
      if (!this.inArguments) {
        const header = /^\n?<tool_call>\n\{"name": "([^"]+)", "arguments": /.exec(this.buffer);
        if (!header) return out;
        this.index++;
        this.inArguments = true;
        this.buffer = this.buffer.slice(header[0].length);
        out.push({ index: this.index, name: header[1]!, arguments: '' });
        continue;
      }
      const end = this.buffer.indexOf(`}${TOOL_CALL_CLOSE}`);
      if (end === -1) {
        // Hold back what could be the start of the closing `}` + tag.
        const keep = TOOL_CALL_CLOSE.length + 1;
        const ready = this.buffer.slice(0, Math.max(0, this.buffer.length - keep));
        if (ready) out.push({ index: this.index, arguments: ready });
        this.buffer = this.buffer.slice(ready.length);
        return out;
      }
      if (end > 0) out.push({ index: this.index, arguments: this.buffer.slice(0, end) });
      this.buffer = this.buffer.slice(end + 1 + TOOL_CALL_CLOSE.length);
      this.inArguments = false;
    }
  }
}
