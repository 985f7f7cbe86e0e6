// What a React Native host gives the JavaScript it runs and the Hermes CLI does not: an
// AbortController (React Native ships one) and console. The core needs neither; its tests create
// signals, which the core takes through its CancelSignal port. Test harness only.
declare const print: (line: string) => void;

class HostAbortSignal {
  aborted = false;
  private readonly listeners: Array<() => void> = [];
  addEventListener(_type: 'abort', listener: () => void): void {
    this.listeners.push(listener);
  }
  fire(): void {
    if (this.aborted) return;
    this.aborted = true;
    for (const listener of this.listeners.splice(0)) listener();
  }
}

class HostAbortController {
  readonly signal = new HostAbortSignal();
  abort(): void {
    this.signal.fire();
  }
}

const host = globalThis as Record<string, unknown>;
host.AbortController ??= HostAbortController;
host.console ??= { log: (...args: unknown[]) => print(args.map(String).join(' ')), warn: (...args: unknown[]) => print(args.map(String).join(' ')), error: (...args: unknown[]) => print(args.map(String).join(' ')) };

// The Hermes CLI on npm (hermes-engine-cli 0.12, from 2022) lacks Array.prototype.at and
// String.prototype.replaceAll (ES2022 and ES2021), which the Jinja library the core renders chat
// templates with calls; an app's host supplies them if its Hermes lacks them. The core uses neither.
if (!Array.prototype.at) {
  Object.defineProperty(Array.prototype, 'at', {
    value<T>(this: T[], index: number): T | undefined {
      const i = Math.trunc(index) || 0;
      return this[i < 0 ? this.length + i : i];
    },
  });
}
if (!String.prototype.replaceAll) {
  Object.defineProperty(String.prototype, 'replaceAll', {
    value(this: string, pattern: string | RegExp, replacement: string | ((match: string) => string)): string {
      if (pattern instanceof RegExp) return this.replace(pattern, replacement as string);
      return this.split(pattern).join(typeof replacement === 'string' ? replacement : replacement(pattern));
    },
  });
}

// The Hermes CLI runs every timer at once, whatever its delay; React Native's timers wait. The
// FAKE engine's token delays need waiting timers, so this one re-queues itself until it is due.
const runSoon = globalThis.setTimeout;
host.setTimeout = (callback: (...args: unknown[]) => void, delayMs = 0, ...args: unknown[]) => {
  const due = Date.now() + delayMs;
  const tick = () => (Date.now() >= due ? callback(...args) : runSoon(tick, 0));
  return runSoon(tick, 0);
};
