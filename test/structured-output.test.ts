// Constrained output: the JSON-schema subset and its enforcement by xgrammar,
// then real answers of the default model on both engines, through the
// library, the CLI and the HTTP API with the openai client. What the model
// says is never fixed: every answer must parse and validate, whatever it is.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateObject, generateText, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { ExecuTorchEngine } from '../src/adapters/executorch/engine.js';
import { createXgrammarCompiler } from '../src/adapters/grammar/xgrammar-compiler.js';
import { xgrammar } from '../src/adapters/grammar/xgrammar-module.js';
import { ebnfToGbnf } from '../src/adapters/llamacpp/gbnf.js';
import { llamaRuntime } from '../src/adapters/llamacpp/runtime.js';
import { performanceClock } from '../src/adapters/system/clock.js';
import { processMemoryProbe } from '../src/adapters/system/process-memory.js';
import { ChatSession } from '../src/core/chat-session.js';
import { OnboardError, SchemaUnsupportedError } from '../src/core/errors.js';
import { ModelRunner } from '../src/core/model-runner.js';
import { checkJsonSchema, type JsonSchema } from '../src/core/output-constraint.js';
import { SCHEMA_CASES } from './fixtures/schemas.js';
import { FakeLoadedModel } from './fakes/fake-engine.js';
import { SimulatedVehicle, vehicleTools } from '../examples/vehicle/functions.js';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { pythonClients } from './python/venv.js';
import { assertFriendly, cliPath, exportedPte, repoRoot, runCli, startServerProcess, testApp, type ServerProcess } from './helpers.js';

const run = promisify(execFile);
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
const compiler = createXgrammarCompiler();

/** Whether xgrammar's own matcher accepts `text` as a whole answer of the grammar. */
async function accepts(grammarText: string, text: string): Promise<boolean> {
  const { xg } = xgrammar();
  return xg.Testings.isGrammarAcceptString(await xg.Grammar.fromEBNF(grammarText), text);
}

describe('the JSON-schema subset', () => {
  it('refuses keywords it cannot enforce, naming the keyword and where it is', () => {
    const refused: Array<[JsonSchema, string, string]> = [
      [{ type: 'integer', multipleOf: 5 }, 'multipleOf', '#/multipleOf'],
      [{ not: { type: 'string' } }, 'not', '#/not'],
      [{ type: 'array', uniqueItems: true }, 'uniqueItems', '#/uniqueItems'],
      [{ type: 'array', contains: { type: 'string' } }, 'contains', '#/contains'],
      [{ type: 'object', properties: { a: { if: { type: 'string' } } } }, 'if', '#/properties/a/if'],
      [{ type: 'object', dependentRequired: { a: ['b'] } }, 'dependentRequired', '#/dependentRequired'],
      [{ type: 'integer', minimum: 3 }, 'minimum', '#/minimum'],
      [{ type: 'string', format: 'phone' }, 'format', '#/format'],
      [{ $ref: 'https://example.com/schema.json' }, '$ref', '#/$ref'],
      [{ type: 'object', properties: { 'a/b': { type: 'text' } } }, 'type', '#/properties/a~1b/type'],
    ];
    for (const [schema, keyword, pointer] of refused) {
      assert.throws(() => checkJsonSchema(schema), (error: unknown) => error instanceof SchemaUnsupportedError && error.keyword === keyword && error.pointer === pointer, JSON.stringify(schema));
    }
    for (const { schema } of SCHEMA_CASES) checkJsonSchema(schema);
  });

  it('holds answers to every keyword it accepts: a violating answer is outside the grammar, a valid one inside', async () => {
    const cases: Array<[string, JsonSchema, string, string]> = [
      ['type', { type: 'integer' }, '"1"', '1'],
      ['type list', { type: ['integer', 'null'] }, '"x"', 'null'],
      ['enum', { enum: ['a', 'b'] }, '"c"', '"a"'],
      ['const', { const: 'a' }, '"b"', '"a"'],
      ['anyOf', { anyOf: [{ type: 'integer' }, { type: 'null' }] }, '"x"', 'null'],
      ['oneOf', { oneOf: [{ type: 'integer' }, { type: 'boolean' }] }, '"x"', 'true'],
      ['allOf', { allOf: [{ type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] }] }, '{"b": 1}', '{"a": 1}'],
      ['$ref', { $defs: { n: { type: 'integer' } }, $ref: '#/$defs/n' }, '"x"', '7'],
      ['properties', { type: 'object', properties: { a: { type: 'integer' } } }, '{"a": "x"}', '{"a": 2}'],
      ['required', { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] }, '{}', '{"a": 1}'],
      ['additionalProperties', { type: 'object', additionalProperties: { type: 'integer' } }, '{"k": "x"}', '{"k": 3}'],
      ['patternProperties', { type: 'object', patternProperties: { '^a': { type: 'integer' } } }, '{"a": "x"}', '{"a": 1}'],
      ['propertyNames', { type: 'object', additionalProperties: true, propertyNames: { pattern: '^a' } }, '{"b": 1}', '{"a": 1}'],
      ['minProperties', { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, minProperties: 1 }, '{}', '{"b": 1}'],
      ['maxProperties', { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, maxProperties: 1 }, '{"a": 1, "b": 2}', '{"a": 1}'],
      ['items', { type: 'array', items: { type: 'integer' } }, '["x"]', '[1, 2]'],
      ['prefixItems', { type: 'array', prefixItems: [{ type: 'integer' }, { type: 'string' }] }, '["x", 1]', '[1, "x"]'],
      ['minItems', { type: 'array', items: { type: 'integer' }, minItems: 2 }, '[1]', '[1, 2]'],
      ['maxItems', { type: 'array', items: { type: 'integer' }, maxItems: 1 }, '[1, 2]', '[1]'],
      ['minLength', { type: 'string', minLength: 3 }, '"ab"', '"abc"'],
      ['maxLength', { type: 'string', maxLength: 3 }, '"abcd"', '"abc"'],
      ['pattern', { type: 'string', pattern: '^[a-c]+$' }, '"xyz"', '"abc"'],
      ['format date', { type: 'string', format: 'date' }, '"soon"', '"2026-11-30"'],
      ['format date-time', { type: 'string', format: 'date-time' }, '"soon"', '"2026-11-30T10:00:00Z"'],
      ['format email', { type: 'string', format: 'email' }, '"nobody"', '"a@b.co"'],
      ['format uuid', { type: 'string', format: 'uuid' }, '"x"', '"123e4567-e89b-12d3-a456-426614174000"'],
      ['minimum + maximum', { type: 'integer', minimum: 16, maximum: 28 }, '3', '17'],
      ['maximum', { type: 'integer', maximum: 5 }, '7', '3'],
      ['exclusive bounds', { type: 'integer', exclusiveMinimum: 1, exclusiveMaximum: 5 }, '5', '4'],
      ['number range', { type: 'number', minimum: -90, maximum: 90 }, '91.5', '-45.25'],
    ];
    for (const [name, schema, bad, good] of cases) {
      const { text } = await compiler.compile({ kind: 'json-schema', schema });
      assert.equal(await accepts(text, bad), false, `${name}: ${bad} must be outside the grammar`);
      assert.equal(await accepts(text, good), true, `${name}: ${good} must be inside the grammar`);
    }
  });

  it('refuses a schema xgrammar would only partly enforce, or cannot compile, and keeps working after', async () => {
    // xgrammar drops maxLength when a pattern is given, and aborts its instance on contradictions.
    for (const schema of [{ type: 'string', pattern: '^a+$', maxLength: 3 }, { type: 'array', items: { type: 'integer' }, minItems: 3, maxItems: 1 }]) {
      await assert.rejects(compiler.compile({ kind: 'json-schema', schema }), (error: unknown) => error instanceof SchemaUnsupportedError && /maxLength|minItems|maxItems/.test(error.message), JSON.stringify(schema));
    }
    const { text } = await compiler.compile({ kind: 'json-schema', schema: { type: 'integer', maximum: 9 } });
    assert.equal(await accepts(text, '8'), true);
  });

  it('writes grammars llama.cpp parses, for every test schema and for any JSON object', async () => {
    const llama = await llamaRuntime('cpu');
    const constraints = [...SCHEMA_CASES.map(({ schema }) => ({ kind: 'json-schema' as const, schema })), { kind: 'json-object' as const }];
    for (const constraint of constraints) {
      const { text } = await compiler.compile(constraint);
      const gbnf = ebnfToGbnf(text);
      assert.doesNotMatch(gbnf, /\(=/, 'no lookahead');
      assert.deepEqual(gbnf.match(/^\S*_\S* ::=/gm), null, 'no underscore in rule names');
      await llama.createGrammar({ grammar: gbnf });
    }
  });
});

describe('tools through a chat template', () => {
  it('uses the model\'s own template for tools when it writes the <tool_call> format, and the text format otherwise', async () => {
    // A tool-aware template in the Hermes/Qwen style (written for this test): it lists the tools
    // itself and renders calls and results in its own words.
    const TOOL_TEMPLATE = [
      "{%- if tools %}<|im_start|>system\n{% if messages[0].role == 'system' %}{{ messages[0].content }}\n{% endif %}Functions you can call:\n",
      "{% for tool in tools %}{{ tool.function.name }}: {{ tool.function.description }}\n{% endfor %}Reply with <tool_call>{\"name\": ..., \"arguments\": ...}</tool_call>.<|im_end|>\n{% endif %}",
      "{%- for m in messages %}{% if m.role == 'tool' %}<|im_start|>user\n<tool_result id=\"{{ m.tool_call_id }}\">{{ m.content }}</tool_result><|im_end|>\n",
      "{% elif m.tool_calls %}<|im_start|>assistant\n{% for c in m.tool_calls %}<tool_call>{{ c.function.name }} {{ c.function.arguments | tojson }}</tool_call>{% endfor %}<|im_end|>\n",
      "{% elif not (tools and m.role == 'system') %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endif %}{% endfor %}",
      "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
    ].join('');
    const model = new FakeLoadedModel({ answer: '<tool_call>\n{"name": "lock", "arguments": {}}\n</tool_call>' });
    Object.assign(model, { info: { ...model.info, chatTemplate: TOOL_TEMPLATE } });
    const runner = new ModelRunner(model, 1, { memory: processMemoryProbe, clock: performanceClock, grammars: compiler });
    assert.equal(runner.template.toolFormat, 'native');
    const tools = [{ name: 'lock', description: 'Lock the doors', parameters: { type: 'object', properties: {} } }];
    const history = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'Lock up.' },
      { role: 'assistant' as const, content: '', toolCalls: [{ id: 'call_1', name: 'lock', arguments: {} }] },
      { role: 'tool' as const, content: '{"ok": false}', toolCallId: 'call_1' },
    ];
    let done;
    for await (const chunk of runner.chat(history, { tools, toolChoice: 'required' })) if (chunk.type === 'done') done = chunk;
    assert.deepEqual(done!.toolCalls?.map((call) => [call.name, call.arguments]), [['lock', {}]]);
    const prompt = model.detokenize(model.prefilled[0]!);
    assert.match(prompt, /Functions you can call:\nlock: Lock the doors\n/, 'the template described the tools');
    assert.match(prompt, /<tool_call>lock \{\}<\/tool_call>/, 'the template wrote the earlier call');
    assert.match(prompt, /<tool_result id="call_1">\{"ok": false\}<\/tool_result>/, 'the template wrote the result, answering a tool message');
    assert.doesNotMatch(prompt, /# Tools|<tool_response>/, 'not the text format');

    const plain = new ModelRunner(new FakeLoadedModel(), 1, { memory: processMemoryProbe, clock: performanceClock, onWarning: () => {} });
    assert.equal(plain.template.toolFormat, 'text', 'ChatML knows no tools');
  });

});

// The default CPU export holds 512 tokens, and four tool descriptions take 424 of them (SmolLM2's
// tokenizer): the ExecuTorch engine is given the first two vehicle tools.
const ENGINES = [
  { engine: 'llama.cpp', model: async () => undefined, toolCount: 4 },
  { engine: 'executorch', model: exportedPte, toolCount: 2 },
];

for (const { engine, model, toolCount } of ENGINES) {
  describe(`constrained answers on ${engine}`, { timeout: 50 * 60_000 }, () => {
    let runner: ModelRunner;
    let modelPath: string | undefined;
    before(async () => {
      modelPath = await model();
      runner = await testApp().openRunner({ ...(modelPath ? { model: modelPath } : {}), backend: 'cpu', contextSize: 1024 });
      assert.equal(runner.model.engine, engine);
    });
    after(async () => {
      await runner?.close();
    });

    it(`gives ${SCHEMA_CASES.length * 5} answers across ${SCHEMA_CASES.length} schemas, every one parsing and valid`, async () => {
      let answers = 0;
      for (const { name, schema, prompts } of SCHEMA_CASES) {
        const validate = ajv.compile(schema);
        for (const [index, prompt] of prompts.entries()) {
          // Greedy and sampled answers both: the grammar must hold whatever the sampler picks.
          const sampling = index % 2 === 0 ? { temperature: 0 } : { temperature: 0.8, seed: index };
          let done;
          const messages = [{ role: 'system' as const, content: 'Answer with JSON only.' }, { role: 'user' as const, content: prompt }];
          for await (const chunk of runner.chat(messages, { sampling, maxTokens: 256, constraint: { kind: 'json-schema', schema } })) if (chunk.type === 'done') done = chunk;
          assert.equal(done!.stats.stopReason, 'eos', `${name}: the grammar ended the answer: ${done!.text}`);
          let value: unknown;
          assert.doesNotThrow(() => (value = JSON.parse(done!.text)), `${name}: ${done!.text} parses`);
          assert.ok(validate(value), `${name}: ${done!.text} is valid: ${JSON.stringify(validate.errors)}`);
          answers++;
        }
      }
      assert.equal(answers, SCHEMA_CASES.length * 5);
    });

    it('answers any JSON object, and a zod schema through ChatSession.send', async () => {
      let done;
      for await (const chunk of runner.chat([{ role: 'user', content: 'Describe your car as JSON.' }], { sampling: { temperature: 0 }, maxTokens: 96, constraint: { kind: 'json-object' } })) if (chunk.type === 'done') done = chunk;
      // A free object may run past max_tokens; whatever came out is the start of an object.
      assert.match(done!.text, /^\{/);
      if (done!.stats.stopReason === 'eos') assert.equal(typeof JSON.parse(done!.text), 'object');

      const Fan = z.object({ speed: z.int().min(0).max(5), recirculate: z.boolean() });
      const session = new ChatSession(runner);
      const answer = await session.ask('Turn the fan up a bit.', { schema: Fan, sampling: { temperature: 0 }, maxTokens: 64 });
      assert.doesNotThrow(() => Fan.parse(JSON.parse(answer.text)), answer.text);
      assert.equal(session.history.at(-1)?.content, answer.text, 'the constrained answer joins the history');
    });

    it('refuses an unsupported keyword before any token, and a grammar that does not parse', async () => {
      await assert.rejects(async () => {
        for await (const chunk of runner.chat([{ role: 'user', content: 'x' }], { constraint: { kind: 'json-schema', schema: { type: 'array', uniqueItems: true } } })) void chunk;
      }, (error: unknown) => error instanceof OnboardError && error.code === 'SCHEMA_UNSUPPORTED');
      await assert.rejects(async () => {
        for await (const chunk of runner.chat([{ role: 'user', content: 'x' }], { constraint: { kind: 'grammar', grammar: 'root ::= ( "a" ' } })) void chunk;
      }, (error: unknown) => error instanceof OnboardError && error.code === 'GRAMMAR_INVALID');
    });

    it('follows a GBNF grammar given as text', async () => {
      const grammar = 'root ::= "The answer is " ("yes" | "no") "."';
      let done;
      for await (const chunk of runner.chat([{ role: 'user', content: 'Is the sky blue?' }], { sampling: { temperature: 0.7, seed: 3 }, maxTokens: 32, constraint: { kind: 'grammar', grammar } })) if (chunk.type === 'done') done = chunk;
      assert.match(done!.text, /^The answer is (yes|no)\.$/);
    });

    it('serves response_format to the openai client: parse() with a zod model, json_object streaming, and a 400 naming an unsupported keyword', async () => {
      let server: ServerProcess | undefined;
      try {
        server = await startServerProcess(modelPath ? ['--model', modelPath] : []);
        const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none' });
        const Climate = z.object({ temperature: z.int().min(16).max(28), zone: z.enum(['driver', 'passenger', 'all']) });
        const parsed = await client.chat.completions.parse({ model: 'default', messages: [{ role: 'user', content: 'Set 21 degrees for everyone.' }], temperature: 0, response_format: zodResponseFormat(Climate, 'climate') });
        const climate = parsed.choices[0]!.message.parsed;
        assert.ok(climate && Climate.safeParse(climate).success, JSON.stringify(parsed.choices[0]!.message));

        const stream = await client.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'A JSON object with your name.' }], temperature: 0, max_tokens: 64, stream: true, response_format: { type: 'json_object' } });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
        assert.match(text, /^\{/);

        await assert.rejects(
          client.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', format: 'phone' } } } }),
          (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === 'response_format' && /format/.test(error.message),
        );
        // The legacy function-calling fields are refused by name rather than answered as if absent.
        const legacy = { functions: [{ name: 'weather', parameters: { type: 'object', properties: {} } }] } as object;
        await assert.rejects(client.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'x' }], ...legacy }), (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === 'functions');
      } finally {
        await server?.stop();
      }
    });

    it('calls tools for the openai client: a named tool, required, streamed as delta.tool_calls, and a round trip with the result', async () => {
      let server: ServerProcess | undefined;
      try {
        server = await startServerProcess(modelPath ? ['--model', modelPath] : []);
        const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none' });
        const car = new SimulatedVehicle();
        const tools = vehicleTools(car).slice(0, toolCount).map((tool) => ({ type: 'function' as const, function: { name: tool.name, description: tool.description!, parameters: z.toJSONSchema(tool.parameters as z.ZodType) as Record<string, unknown> } }));
        const validArguments = (name: string, args: string) => {
          const tool = vehicleTools(car).find((t) => t.name === name);
          assert.ok(tool, `${name} is one of the tools`);
          assert.doesNotThrow(() => (tool.parameters as z.ZodType).parse(JSON.parse(args)), `${name}(${args}) is valid`);
        };
        const messages = [{ role: 'user' as const, content: 'Take me to the airport.' }];

        const named = await client.chat.completions.create({ model: 'default', messages, tools, tool_choice: { type: 'function', function: { name: 'navigate_to' } }, parallel_tool_calls: false, temperature: 0 });
        const namedCalls = named.choices[0]!.message.tool_calls!;
        assert.equal(named.choices[0]!.finish_reason, 'tool_calls');
        assert.equal(named.choices[0]!.message.content, null);
        assert.equal(namedCalls.length, 1);
        assert.equal(namedCalls[0]!.type === 'function' && namedCalls[0]!.function.name, 'navigate_to');
        for (const call of namedCalls) if (call.type === 'function') validArguments(call.function.name, call.function.arguments);

        const required = await client.chat.completions.create({ model: 'default', messages, tools, tool_choice: 'required', temperature: 0.8, seed: 5 });
        assert.ok(required.choices[0]!.message.tool_calls!.length >= 1);
        for (const call of required.choices[0]!.message.tool_calls!) if (call.type === 'function') validArguments(call.function.name, call.function.arguments);

        // Streamed: each call's id and name first, then its arguments in fragments that join to valid JSON.
        const stream = await client.chat.completions.create({ model: 'default', messages, tools, tool_choice: 'required', temperature: 0, stream: true });
        const streamed = new Map<number, { id?: string; name?: string; args: string; fragments: number }>();
        let finish: string | null | undefined;
        for await (const chunk of stream) {
          for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
            const call = streamed.get(delta.index) ?? { args: '', fragments: 0 };
            call.id ??= delta.id;
            call.name ??= delta.function?.name;
            call.args += delta.function?.arguments ?? '';
            call.fragments++;
            streamed.set(delta.index, call);
          }
          finish = chunk.choices[0]?.finish_reason ?? finish;
        }
        assert.equal(finish, 'tool_calls');
        assert.ok(streamed.size >= 1);
        for (const call of streamed.values()) {
          assert.ok(call.id && call.name, 'the first delta of a call names it');
          assert.ok(call.fragments > 2, 'arguments arrive in fragments');
          validArguments(call.name, call.args);
        }

        // The round trip: the call and its result in the history, then the model answers in text or calls again.
        const call = namedCalls[0]!;
        const followUp = await client.chat.completions.create({
          model: 'default',
          messages: [...messages, named.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: JSON.stringify({ ok: true }) }],
          tools,
          temperature: 0,
          max_tokens: 48,
        });
        const reply = followUp.choices[0]!.message;
        assert.ok(reply.content || reply.tool_calls?.length, 'an answer to the tool result');
      } finally {
        await server?.stop();
      }
    });

    it('works with the AI SDK: generateObject and a tool call through @ai-sdk/openai-compatible, and through @ai-sdk/openai\'s default Responses provider (whole and streamed)', async () => {
      let server: ServerProcess | undefined;
      try {
        server = await startServerProcess(modelPath ? ['--model', modelPath] : []);
        const Climate = z.object({ temperature: z.int().min(16).max(28), zone: z.enum(['driver', 'passenger', 'all']) });
        const navigate = { navigate_to: tool({ description: 'Start navigation to a place', inputSchema: z.object({ destination: z.string().min(1).max(40) }), execute: async ({ destination }) => ({ ok: true, destination }) }) };
        const compatible = createOpenAICompatible({ name: 'onboard', baseURL: `${server.url}/v1`, supportsStructuredOutputs: true });
        const responses = createOpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none' });
        for (const model of [compatible('default'), responses('default')]) {
          const { object } = await generateObject({ model, schema: Climate, prompt: 'Set 21 degrees for everyone.', temperature: 0 });
          assert.ok(Climate.safeParse(object).success, JSON.stringify(object));
          const called = await generateText({ model, prompt: 'Take me to the airport.', temperature: 0, toolChoice: 'required', tools: navigate });
          assert.equal(called.finishReason, 'tool-calls');
          assert.ok(called.toolCalls.length >= 1 && called.toolResults.length === called.toolCalls.length, 'the calls ran');
          for (const call of called.toolCalls) assert.equal(typeof (call.input as { destination: unknown }).destination, 'string');
        }
        // Streamed from /v1/responses: the input arrives in deltas, then the call.
        const streamed = streamText({ model: responses('default'), prompt: 'Take me home.', temperature: 0, toolChoice: 'required', tools: navigate });
        const kinds = new Set<string>();
        for await (const part of streamed.fullStream) kinds.add(part.type);
        assert.ok(kinds.has('tool-input-delta') && kinds.has('tool-call'), [...kinds].join(','));
        // The openai client's Responses API, plain text.
        const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none' });
        const reply = await client.responses.create({ model: 'default', input: 'Say hello.', max_output_tokens: 16, temperature: 0 });
        assert.ok(reply.output_text.length > 0);
        assert.ok(['completed', 'incomplete'].includes(reply.status!));
        await assert.rejects(client.responses.create({ model: 'default', input: 'x', previous_response_id: 'resp_1' }), (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === 'previous_response_id');
      } finally {
        await server?.stop();
      }
    });

    it('works with the Python openai package: parse() with a pydantic model, a named and a required tool call, streamed calls, the round trip, and logprobs', async () => {
      const python = await pythonClients();
      let server: ServerProcess | undefined;
      try {
        server = await startServerProcess(modelPath ? ['--model', modelPath] : []);
        const { stdout } = await run(python, [join(repoRoot, 'test/python/openai_client.py'), `${server.url}/v1`], { maxBuffer: 1 << 22 });
        const seen = JSON.parse(stdout) as {
          parsed: { temperature: number; zone: string } | null;
          named: { finish: string; name: string; arguments: { destination: unknown } };
          required: Array<{ destination: unknown }>;
          streamed: Array<{ name: string; arguments: { destination: unknown }; pieces: number }>;
          follow: { content: string | null; calls: number };
          logprobs: { tokens: number; completion: number; best_first: boolean; greedy_is_best: boolean };
        };
        assert.ok(seen.parsed && seen.parsed.temperature >= 16 && seen.parsed.temperature <= 28, JSON.stringify(seen.parsed));
        assert.deepEqual([seen.named.finish, seen.named.name, typeof seen.named.arguments.destination], ['tool_calls', 'navigate_to', 'string']);
        assert.ok(seen.required.length >= 1 && seen.required.every((args) => typeof args.destination === 'string'));
        assert.ok(seen.streamed.length >= 1 && seen.streamed.every((call) => call.name === 'navigate_to' && typeof call.arguments.destination === 'string' && call.pieces > 1));
        assert.ok(seen.follow.content || seen.follow.calls > 0, 'an answer to the tool result');
        assert.equal(seen.logprobs.tokens, seen.logprobs.completion, 'one log probability per answer token');
        assert.ok(seen.logprobs.best_first && seen.logprobs.greedy_is_best, JSON.stringify(seen.logprobs));
      } finally {
        await server?.stop();
      }
    });

    it('runs the in-car example: every call parses, validates, runs its handler, and the loop ends', async () => {
      const car = new SimulatedVehicle();
      const tools = vehicleTools(car).slice(0, toolCount);
      const handled: string[] = [];
      const traced = tools.map((tool) => ({ ...tool, handler: (args: Record<string, unknown>) => (handled.push(tool.name), tool.handler(args)) }));
      const requests = ['Set the temperature to 22 degrees for everyone.', 'Take me to the airport.', 'Play the next song.', 'Open the front right window.'].slice(0, toolCount);
      for (const [index, request] of requests.entries()) {
        const chat = new ChatSession(runner, { systemPrompt: 'You are a car assistant. Use the tools to act, then confirm briefly.' });
        const before = handled.length;
        const answer = await chat.askWithTools(request, { tools: traced, toolChoice: 'required', parallelToolCalls: false, maxRounds: 2, sampling: index % 2 ? { temperature: 0.7, seed: index } : { temperature: 0 }, maxTokens: 96 });
        assert.ok(answer.calls.length >= 1, `${request}: at least one call`);
        assert.equal(handled.length - before, answer.calls.length, 'every call ran its handler');
        for (const { call, result } of answer.calls) {
          const tool = tools.find((t) => t.name === call.name)!;
          assert.doesNotThrow(() => (tool.parameters as z.ZodType).parse(call.arguments), `${call.name}(${JSON.stringify(call.arguments)})`);
          assert.deepEqual((result as { ok?: boolean }).ok, true, `${call.name} succeeded`);
        }
        assert.equal(answer.toolCalls, undefined, 'the loop ended with an answer in text');
        assert.ok(chat.history.some((m) => m.role === 'tool'), 'the results are in the history');
      }
    });
  });
}

describe('constraints at the edges', { timeout: 50 * 60_000 }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onboard-schema-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('onboard run --json-schema answers valid JSON; an unsupported schema exits with SCHEMA_UNSUPPORTED', async () => {
    const schema = SCHEMA_CASES[0]!.schema;
    await writeFile(join(dir, 'climate.json'), JSON.stringify(schema));
    const result = await runCli(['run', '--backend', 'cpu', '--temperature', '0', '--json-schema', join(dir, 'climate.json'), 'Set 22 degrees for the driver.']);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(ajv.validate(schema, JSON.parse(result.stdout)), result.stdout);

    await writeFile(join(dir, 'unique.json'), JSON.stringify({ type: 'array', uniqueItems: true }));
    assertFriendly(await runCli(['run', '--json-schema', join(dir, 'unique.json'), 'x']), 'SCHEMA_UNSUPPORTED', 2);
    assertFriendly(await runCli(['run', '--json-schema', join(dir, 'missing.json'), 'x']), 'INVALID_OPTION', 2);
  });

  it('onboard chat --tools: the call is shown, the typed result goes back, and the model answers it; a bad tools file is named', async () => {
    await writeFile(join(dir, 'tools.json'), JSON.stringify([{ type: 'function', function: { name: 'navigate_to', description: 'Navigate to a place', parameters: { type: 'object', properties: { destination: { type: 'string', maxLength: 40 } }, required: ['destination'] } } }]));
    const child = spawn(process.execPath, [cliPath, 'chat', '--backend', 'cpu', '--temperature', '0', '-n', '48', '--tools', join(dir, 'tools.json'), '--tool-choice', 'required'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end('Take me to the airport.\n{"ok": true, "eta_minutes": 18}\n');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    const shown = /call navigate_to\((.*)\): type its result/.exec(stderr);
    assert.ok(shown, stderr);
    assert.equal(typeof JSON.parse(shown[1]!).destination, 'string');
    assert.match(stdout, /navigate_to result> /, 'the result prompt names the call');
    assert.equal(stderr.match(/ tokens, /g)?.length, 2, 'an answer to the call, then one to its result');

    await writeFile(join(dir, 'bad-tools.json'), JSON.stringify([{ type: 'function', function: { description: 'no name' } }]));
    assertFriendly(await runCli(['chat', '--tools', join(dir, 'bad-tools.json')]), 'INVALID_OPTION', 2);
  });

  it('the Python ExecuTorch host refuses a constraint with CONSTRAINT_UNSUPPORTED and still answers without one', async () => {
    const model = await new ExecuTorchEngine({ runtime: 'python' }).load({ modelPath: await exportedPte(), contextSize: 256, target: 'auto' });
    const runner = new ModelRunner(model, 1, { memory: processMemoryProbe, clock: performanceClock, grammars: compiler });
    try {
      await assert.rejects(async () => {
        for await (const chunk of runner.chat([{ role: 'user', content: 'Hi' }], { maxTokens: 8, constraint: { kind: 'json-object' } })) void chunk;
      }, (error: unknown) => error instanceof OnboardError && error.code === 'CONSTRAINT_UNSUPPORTED');
      await assert.rejects(async () => {
        for await (const chunk of runner.chat([{ role: 'user', content: 'Hi' }], { maxTokens: 8, logprobs: 2 })) void chunk;
      }, (error: unknown) => error instanceof OnboardError && error.code === 'INVALID_OPTION' && /log probabilities/.test(error.message));
      let done;
      for await (const chunk of runner.chat([{ role: 'user', content: 'Hi' }], { maxTokens: 8, sampling: { temperature: 0 } })) if (chunk.type === 'done') done = chunk;
      assert.ok(done!.stats.decodeTokens > 0);
    } finally {
      await runner.close();
    }
  });
});
