import type { Engine } from '../core/engine.js';
import type { EngineEntry } from '../core/engine-registry.js';
import { fitToBudget, SMALLEST_CONTEXT } from '../core/memory-estimate.js';

/**
 * An engine that loads under a memory budget (LoadOptions.memoryBudgetBytes):
 * before loading, the entry's estimate for the file is checked against it,
 * and the context, then the sequences, are shrunk to fit (each change passed
 * to `onWarning`), or the load is refused with the numbers. The loaded model
 * carries the fit (`memoryFit`) for the runner, /health and the stats.
 */
export function budgetedEngine<Header>(entry: EngineEntry<Header>, onWarning: (message: string) => void, baselineBytes: () => number = () => process.memoryUsage().rss): Engine<Header> {
  const engine = entry.engine;
  return {
    name: engine.name,
    async load(options) {
      const budget = options.memoryBudgetBytes;
      if (budget === undefined || !entry.memoryShape || options.header === undefined) return engine.load(options);
      const fit = fitToBudget(entry.memoryShape(options.header), { contextSize: options.contextSize, sequences: options.sequences ?? 1 }, budget, baselineBytes(), SMALLEST_CONTEXT);
      for (const change of fit.changes) onWarning(change);
      const model = await engine.load({ ...options, contextSize: fit.contextSize, sequences: fit.sequences });
      return Object.assign(model, { memoryFit: fit });
    },
  };
}
