import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type * as Xgrammar from '@mlc-ai/web-xgrammar';

/**
 * Loads xgrammar (MLC's grammar engine, used by vLLM and SGLang) as its
 * WebAssembly build from npm. The package ships a UMD bundle inside a
 * "type": "module" package, which Node's ESM loader cannot import, so the
 * bundle is evaluated here as the CommonJS module it is.
 *
 * xgrammar reports problems by printing them ("[WARNING] ... ignoring
 * minLength") and aborts the WebAssembly instance on a fatal one, after which
 * the instance is unusable. So each instance gets a console of its own that
 * records what it printed, and an aborted instance is dropped: the next call
 * evaluates a fresh one.
 */
export type XgrammarModule = typeof Xgrammar;

export interface XgrammarInstance {
  xg: XgrammarModule;
  /** Lines xgrammar printed since the last `takeMessages()`. */
  takeMessages(): string[];
}

const require = createRequire(import.meta.url);
let instance: XgrammarInstance | undefined;

export function xgrammar(): XgrammarInstance {
  if (instance) return instance;
  const path = require.resolve('@mlc-ai/web-xgrammar');
  const messages: string[] = [];
  const record = (...parts: unknown[]): void => {
    messages.push(parts.map(String).join(' ').trim());
  };
  const quietConsole = { ...console, log: record, warn: record, error: record };
  const module = { exports: {} as XgrammarModule };
  // Evaluating the package's own bundle, see above.
  const evaluate = new Function('exports', 'module', 'require', '__filename', '__dirname', 'console', readFileSync(path, 'utf8'));
  evaluate(module.exports, module, createRequire(path), path, dirname(path), quietConsole);
  const loaded: XgrammarInstance = { xg: module.exports, takeMessages: () => messages.splice(0) };
  instance = loaded;
  return loaded;
}

/** Runs `work` on the instance; an abort drops it, so the next call starts a fresh one. */
export async function withXgrammar<T>(work: (instance: XgrammarInstance) => Promise<T>): Promise<T> {
  const current = xgrammar();
  current.takeMessages();
  try {
    return await work(current);
  } catch (error) {
    if (/Aborted/.test(String((error as Error)?.message ?? error)) && instance === current) instance = undefined;
    throw error;
  }
}

/** What xgrammar printed while failing (its "[FATAL] file:line: reason" lines), without the source location. */
export function describeXgrammarFailure(messages: readonly string[], error: unknown): string {
  const reasons = messages
    .filter((line) => /^\[(FATAL|WARNING)\]/.test(line))
    .map((line) => line.replace(/^\[\w+\]\s*\S+:\d+:\s*/, '').split('\n')[0]!);
  if (reasons.length > 0) return reasons.join('; ');
  return String((error as Error)?.message ?? error).split('\n')[0]!;
}
