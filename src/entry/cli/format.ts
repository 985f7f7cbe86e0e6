import { isOnboardError } from '../../core/errors.js';
import type { GenerationStats } from '../../core/types.js';

export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

/** One line for after an answer. */
export function statsLine(stats: GenerationStats): string {
  return (
    `${stats.decodeTokens} tokens, ${stats.decodeTokensPerSecond.toFixed(1)} tok/s, first token ${stats.timeToFirstTokenMs.toFixed(0)} ms, ` +
    `prefill ${stats.prefillTokens}/${stats.promptTokens} tokens (${stats.reusedTokens} reused), ${stats.engine} on ${stats.backend}, stop: ${stats.stopReason}`
  );
}

/** Every field, for `/stats` and `--stats`. */
export function statsTable(stats: GenerationStats): string {
  const rows: Array<[string, string]> = [
    ['engine', `${stats.engine} on ${stats.backend}`],
    ['backend reason', stats.backendReason],
    ...(stats.artifact ? ([['artifact', `${stats.artifact}: ${stats.artifactReason}`]] as Array<[string, string]>) : []),
    ['model load', `${stats.modelLoadMs.toFixed(0)} ms`],
    ['time to first token', `${stats.timeToFirstTokenMs.toFixed(1)} ms`],
    ['prompt tokens', `${stats.promptTokens} (${stats.reusedTokens} reused from the KV cache, ${stats.prefillTokens} prefilled)`],
    ['prefill speed', `${stats.prefillTokensPerSecond.toFixed(1)} tok/s`],
    ['answer tokens', String(stats.decodeTokens)],
    ['decode speed', `${stats.decodeTokensPerSecond.toFixed(1)} tok/s`],
    ['total', `${stats.totalMs.toFixed(0)} ms`],
    ['peak RSS', formatBytes(stats.peakRssBytes)],
    ['stop reason', stats.stopReason],
    ['dropped messages', String(stats.droppedMessages)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
}

/** One friendly line plus the hint; a stack trace only for bugs, or with ONBOARD_DEBUG=1. */
export function describeError(error: unknown, debug = process.env.ONBOARD_DEBUG === '1'): { text: string; exitCode: number } {
  if (isOnboardError(error)) {
    const text = `onboard: ${error.message} [${error.code}]\n  hint: ${error.hint}` + (debug && error.stack ? `\n${error.stack}` : '');
    return { text, exitCode: error.exitCode };
  }
  const message = error instanceof Error ? error.message : String(error);
  const stack = error instanceof Error && error.stack ? `\n${error.stack}` : '';
  return { text: `onboard: unexpected error: ${message}\n  hint: this is a bug; please report it with the output of \`onboard doctor\`.${stack}`, exitCode: 1 };
}
