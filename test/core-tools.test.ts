// The tool-call format of the core (src/core/tools.ts): parsing and streaming calls, writing
// tools, calls and results into a conversation, checking tools. Pure core: it also runs under
// Hermes (scripts/hermes-tests.mjs).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SchemaUnsupportedError } from '../src/core/errors.js';
import { checkTools, parseToolCalls, ToolCallStream, withToolsInText } from '../src/core/tools.js';

describe('the tool-call format', () => {
  const call = (name: string, args: object) => `<tool_call>\n${JSON.stringify({ name, arguments: args }).replace(/","/g, '", "').replace(/":/g, '": ')}\n</tool_call>`;

  it('parses the calls of an answer, and streams them as a name then argument fragments that join to the arguments', () => {
    const text = `${call('set_climate', { temperature: 21, zone: 'all' })}\n${call('navigate_to', { destination: 'a "quoted" }\n</tool_call> place' })}`;
    let id = 0;
    assert.deepEqual(parseToolCalls(text, () => `c${++id}`), [
      { id: 'c1', name: 'set_climate', arguments: { temperature: 21, zone: 'all' } },
      { id: 'c2', name: 'navigate_to', arguments: { destination: 'a "quoted" }\n</tool_call> place' } },
    ]);
    assert.deepEqual(parseToolCalls('Just text.', () => 'x'), []);
    for (const size of [1, 3, 7, 1000]) {
      const stream = new ToolCallStream();
      const calls: Array<{ name: string; args: string }> = [];
      for (let at = 0; at < text.length; at += size) {
        for (const piece of stream.push(text.slice(at, at + size)) ?? []) {
          if (piece.name !== undefined) calls.push({ name: piece.name, args: '' });
          calls[piece.index]!.args += piece.arguments;
        }
      }
      assert.deepEqual(calls.map((c) => ({ name: c.name, args: JSON.parse(c.args) })), parseToolCalls(text, () => '').map((c) => ({ name: c.name, args: c.arguments })), `pieces of ${size}`);
    }
  });

  it('writes tools, calls and results into a conversation a template without tools can render', () => {
    const tools = [{ name: 'lock', description: 'Lock the doors', parameters: { type: 'object', properties: {} } }];
    const messages = withToolsInText(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Lock up.' },
        { role: 'assistant', content: '', toolCalls: [{ id: 'a', name: 'lock', arguments: {} }, { id: 'b', name: 'lock', arguments: {} }] },
        { role: 'tool', content: '{"ok":true}', toolCallId: 'a' },
        { role: 'tool', content: '{"ok":false}', toolCallId: 'b' },
      ],
      tools,
    );
    assert.deepEqual(messages.map((m) => m.role), ['system', 'user', 'assistant', 'user']);
    assert.match(messages[0]!.content, /^Be brief\.\n\n# Tools\n[\s\S]*"name":"lock"/);
    assert.equal(messages[2]!.content, '<tool_call>\n{"name":"lock","arguments":{}}\n</tool_call>\n<tool_call>\n{"name":"lock","arguments":{}}\n</tool_call>');
    assert.equal(messages[3]!.content, '<tool_response>\n{"ok":true}\n</tool_response>\n<tool_response>\n{"ok":false}\n</tool_response>', 'one round of results is one turn');
  });

  it('refuses bad tools by name: a duplicate, a bad name, parameters that are not an object, an unknown named choice', () => {
    const lock = { name: 'lock', parameters: { type: 'object' } };
    const cases: Array<[Parameters<typeof checkTools>[0], Parameters<typeof checkTools>[1], RegExp]> = [
      [[lock, lock], 'auto', /two tools are named "lock"/],
      [[{ ...lock, name: 'lock doors' }], 'auto', /not a name/],
      [[{ ...lock, parameters: { type: 'string' } }], 'auto', /object of arguments/],
      [[lock], { name: 'unlock' }, /no tool is named "unlock"/],
      [[{ ...lock, parameters: { type: 'object', not: {} } }], 'auto', /"not"/],
      [[], 'required', /no tool is given/],
    ];
    for (const [tools, choice, message] of cases) assert.throws(() => checkTools(tools, choice), (error: unknown) => error instanceof SchemaUnsupportedError && message.test(error.message));
  });
});
