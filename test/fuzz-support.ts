// Shared by the fuzz tests: a tiny valid GGUF to mutate, byte mutations, and the bounds each case must keep.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { OnboardError } from '../src/core/errors.js';

/** Cases per target: a fixed budget in `npm test`, more with `npm run fuzz` (ONBOARD_FUZZ_RUNS). */
export const FUZZ_RUNS = Number(process.env.ONBOARD_FUZZ_RUNS ?? 1500);
/** Every case must end within this, whatever the file claims (a bound against hangs, not a speed test: the real header parses in about 0.5 s). */
export const CASE_TIME_LIMIT_MS = 10_000;

function ggufString(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(bytes.length));
  return Buffer.concat([length, bytes]);
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};

/**
 * A small but complete GGUF (version 3): a llama architecture, a tokenizer with
 * an array of strings, and two f32 tensors whose data lies inside the file.
 */
export function tinyGguf(name = 'tiny fuzz model'): Buffer {
  const kv = (key: string, type: number, value: Buffer) => Buffer.concat([ggufString(key), u32(type), value]);
  const tokens = ['<s>', '</s>', 'a', 'b', 'c', 'd', 'e', 'f'];
  const metadata = [
    kv('general.architecture', 8, ggufString('llama')),
    kv('general.name', 8, ggufString(name)),
    kv('llama.context_length', 4, u32(64)),
    kv('llama.embedding_length', 4, u32(8)),
    kv('llama.block_count', 4, u32(1)),
    kv('llama.attention.head_count', 4, u32(2)),
    kv('tokenizer.ggml.model', 8, ggufString('gpt2')),
    kv('tokenizer.ggml.tokens', 9, Buffer.concat([u32(8), u64(tokens.length), ...tokens.map(ggufString)])),
    kv('tokenizer.ggml.bos_token_id', 4, u32(0)),
  ];
  const tensors = [
    ['token_embd.weight', [8, 8]],
    ['output_norm.weight', [8]],
  ] as const;
  let offset = 0;
  const infos = tensors.map(([name, dims]) => {
    const info = Buffer.concat([ggufString(name), u32(dims.length), ...dims.map(u64), u32(0 /* F32 */), u64(offset)]);
    offset += dims.reduce((a, b) => a * b, 1) * 4;
    offset = Math.ceil(offset / 32) * 32;
    return info;
  });
  const header = Buffer.concat([Buffer.from('GGUF'), u32(3), u64(tensors.length), u64(metadata.length), ...metadata, ...infos]);
  const padded = Buffer.concat([header, Buffer.alloc((32 - (header.length % 32)) % 32)]);
  return Buffer.concat([padded, Buffer.alloc(offset, 0x3c)]);
}

/** Values that break naive readers: zero, one, sign and width boundaries, the all-ones. */
const EXTREMES = [0n, 1n, 2n, 7n, 0x7fn, 0xffn, 0x7fffn, 0xffffn, 0x7fffffffn, 0xffffffffn, 0x100000000n, 2n ** 53n, 2n ** 62n, 2n ** 63n - 1n, 2n ** 64n - 1n];

export type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'u32' | 'u64'; at: number; value: bigint }
  | { kind: 'byte'; at: number; value: number };

/** 1 to 3 mutations inside `[0, region)`: truncations, lying 32/64-bit fields, changed bytes. */
export function mutations(region: number): fc.Arbitrary<Mutation[]> {
  const at = fc.nat({ max: Math.max(region - 1, 0) });
  const value = fc.oneof(fc.constantFrom(...EXTREMES), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
  const one: fc.Arbitrary<Mutation> = fc.oneof(
    { weight: 1, arbitrary: at.map((p) => ({ kind: 'truncate' as const, at: p })) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('u32' as const, 'u64' as const), at, value }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('byte' as const), at, value: fc.nat({ max: 255 }) }) },
  );
  return fc.array(one, { minLength: 1, maxLength: 3 });
}

export function applyMutations(base: Buffer, list: readonly Mutation[]): Buffer {
  let bytes = Buffer.from(base);
  for (const m of list) {
    if (m.kind === 'truncate') bytes = bytes.subarray(0, m.at);
    else if (m.kind === 'byte') {
      if (m.at < bytes.length) bytes[m.at] = m.value;
    } else if (m.kind === 'u32') {
      if (m.at + 4 <= bytes.length) bytes.writeUInt32LE(Number(m.value & 0xffffffffn), m.at);
    } else if (m.at + 8 <= bytes.length) bytes.writeBigUInt64LE(m.value, m.at);
  }
  return bytes;
}

/** Tally of how cases ended, printed and recorded in docs/security.md. */
export class Outcomes {
  readonly classes = new Map<string, number>();
  cases = 0;
  slowest = 0;

  /** Runs one case: it must give a value or a typed error, within the time bound. A string result names the outcome. */
  async run(task: () => Promise<unknown>): Promise<void> {
    const started = performance.now();
    let outcome = 'valid';
    try {
      const result = await task();
      if (typeof result === 'string') outcome = result;
    } catch (error) {
      if (!(error instanceof OnboardError)) throw error;
      outcome = error.code;
    }
    const elapsed = performance.now() - started;
    this.slowest = Math.max(this.slowest, elapsed);
    assert.ok(elapsed < CASE_TIME_LIMIT_MS, `a case took ${elapsed.toFixed(0)} ms`);
    this.cases++;
    this.classes.set(outcome, (this.classes.get(outcome) ?? 0) + 1);
  }

  report(target: string): string {
    const classes = [...this.classes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
    return `fuzz ${target}: ${this.cases} cases, ${this.classes.size} outcome classes (${classes}), failures 0, slowest ${this.slowest.toFixed(0)} ms`;
  }
}
