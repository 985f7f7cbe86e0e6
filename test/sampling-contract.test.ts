// The sampling contract is declared once, in src/core/sampling.ts. Every other place that speaks
// of it (CLI flags, the OpenAI schema, the UI's settings, the Python host, the web page) must agree
// with it; this test fails when a range or a default is changed in one place only.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import type { z } from 'zod';
import { DEFAULT_MAX_TOKENS, MAX_TOKENS_LIMIT, SAMPLING_DEFAULTS, SAMPLING_FIELDS, samplingSchema, type SamplingField } from '../src/core/sampling.js';
import { addGenerationOptions, samplingFlag } from '../src/entry/cli/options.js';
import { chatCompletionRequest, httpName } from '../src/entry/server/openai-schemas.js';
import { conversationSettingsSchema } from '../src/entry/server/ui-routes.js';
import { repoRoot } from './helpers.js';

const fields = Object.keys(SAMPLING_FIELDS) as SamplingField[];
const defaults = SAMPLING_DEFAULTS as Partial<Record<SamplingField, number>>;

/** The edges of a field's range, and a value just past each (where the range is bounded). */
function edges(field: SamplingField): { inside: number[]; outside: number[] } {
  const schema = SAMPLING_FIELDS[field];
  const step = schema.isInt ? 1 : 0.001;
  const inside: number[] = [];
  const outside: number[] = [];
  const { minValue: min, maxValue: max } = schema;
  if (min !== null && Number.isFinite(min)) {
    inside.push(schema.safeParse(min).success ? min : min + step);
    outside.push(schema.safeParse(min).success ? min - step : min);
  }
  if (max !== null && Number.isFinite(max)) {
    inside.push(max);
    outside.push(max + step);
  }
  return { inside, outside };
}

const accepts = (schema: z.ZodType, value: object) => schema.safeParse(value).success;

describe('the sampling contract, declared once', () => {
  it('the core schema fills exactly the declared defaults, and leaves the seed unset', () => {
    const complete = samplingSchema.parse({});
    assert.deepEqual(complete, SAMPLING_DEFAULTS);
    assert.equal('seed' in complete, false);
  });

  it('over HTTP, each field takes the core range under its OpenAI name (top_p 0 and any seed are OpenAI widenings)', () => {
    const base = { messages: [{ role: 'user', content: 'hi' }] };
    for (const field of fields) {
      const { inside, outside } = edges(field);
      for (const value of inside) assert.ok(accepts(chatCompletionRequest, { ...base, [httpName(field)]: value }), `${httpName(field)}=${value} accepted`);
      for (const value of outside) {
        const widened = (field === 'topP' && value === 0) || field === 'seed';
        assert.equal(accepts(chatCompletionRequest, { ...base, [httpName(field)]: value }), widened, `${httpName(field)}=${value}`);
      }
    }
    assert.ok(accepts(chatCompletionRequest, { ...base, max_tokens: MAX_TOKENS_LIMIT }));
    assert.ok(!accepts(chatCompletionRequest, { ...base, max_tokens: MAX_TOKENS_LIMIT + 1 }));
  });

  it("the web UI's stored settings take the same ranges", () => {
    for (const field of fields) {
      const { inside, outside } = edges(field);
      for (const value of inside) assert.ok(accepts(conversationSettingsSchema, { [field]: value }), `${field}=${value} accepted`);
      for (const value of outside) assert.ok(!accepts(conversationSettingsSchema, { [field]: value }), `${field}=${value} refused`);
    }
    assert.ok(accepts(conversationSettingsSchema, { maxTokens: MAX_TOKENS_LIMIT }));
    assert.ok(!accepts(conversationSettingsSchema, { maxTokens: MAX_TOKENS_LIMIT + 1 }));
  });

  it('every field is a CLI flag whose default and help are the contract', () => {
    const command = addGenerationOptions(new Command());
    for (const field of fields) {
      const option = command.options.find((o) => o.long === samplingFlag(field));
      assert.ok(option, `${samplingFlag(field)} exists`);
      assert.equal(option.defaultValue, defaults[field] === undefined ? undefined : String(defaults[field]), `${samplingFlag(field)} default`);
      assert.equal(option.description, SAMPLING_FIELDS[field].description);
    }
    assert.equal(command.options.find((o) => o.long === '--max-tokens')?.defaultValue, String(DEFAULT_MAX_TOKENS));
  });

  it('the Python host defines no default of its own: it reads complete options', async () => {
    const host = await readFile(join(repoRoot, 'python/onboard_executorch/host.py'), 'utf8');
    for (const field of fields.filter((f) => f !== 'seed')) {
      assert.match(host, new RegExp(`options\\["${field}"\\]`), `host.py reads ${field}`);
      assert.doesNotMatch(host, new RegExp(`get\\("${field}"`), `host.py has no default for ${field}`);
    }
  });

  it('the web page writes no range or default into its settings inputs (they come from /api/info)', async () => {
    const html = await readFile(join(repoRoot, 'web/index.html'), 'utf8');
    for (const id of ['temperature', 'top-p', 'max-tokens']) {
      const input = new RegExp(`<input id="${id}"[^>]*>`).exec(html)?.[0] ?? '';
      assert.ok(input, `#${id} exists`);
      assert.doesNotMatch(input, /\b(min|max|value)=/, `#${id} declares no range or default`);
    }
    const app = await readFile(join(repoRoot, 'web/app.js'), 'utf8');
    for (const value of [...Object.values(SAMPLING_DEFAULTS).filter((v) => v !== 0), DEFAULT_MAX_TOKENS]) {
      assert.doesNotMatch(app, new RegExp(`[^\\d.]${String(value).replace('.', '\\.')}(?![\\d.])`), `app.js does not write ${value}`);
    }
  });
});
