import { readFileSync } from 'node:fs';

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function rssOf(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

function treeOf(pid: number): number[] {
  return [pid, ...childrenOf(pid).flatMap(treeOf)];
}

/**
 * The peak of the summed resident memory of a process and its descendants
 * (an engine's host process counts), sampled every `everyMs` from /proc.
 * A peak shorter than the interval can be missed; at 5 ms a model load is not.
 */
export function watchTreeMemory(pid: number, everyMs = 5): { stop(): number } {
  let peak = 0;
  const sample = () => {
    const total = treeOf(pid).reduce((sum, p) => sum + rssOf(p), 0);
    if (total > peak) peak = total;
  };
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}
