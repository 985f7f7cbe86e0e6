import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** cgroup v1 reports "no limit" as a number near 2^63. */
const NO_LIMIT_V1 = 2 ** 60;

function readNumber(path: string): number | undefined {
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (text === 'max') return undefined;
    const value = Number(text);
    return Number.isFinite(value) && value > 0 && value < NO_LIMIT_V1 ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The memory limit of this process's cgroup (containers, Android's memory
 * cgroups), or undefined when there is none. Reads cgroup v2's memory.max and
 * v1's memory.limit_in_bytes, at the process's own cgroup path and at the
 * root (a container sees its own cgroup as the root). `root` and the
 * /proc/self/cgroup text are parameters so tests can point at a fixture.
 */
export function cgroupMemoryLimit(root = '/sys/fs/cgroup', selfCgroup: string = readSelfCgroup()): number | undefined {
  const candidates: string[] = [];
  for (const line of selfCgroup.split('\n')) {
    const [, controllers, path] = line.split(':');
    if (path === undefined) continue;
    if (controllers === '') candidates.push(join(root, path, 'memory.max'));
    else if (controllers?.split(',').includes('memory')) candidates.push(join(root, 'memory', path, 'memory.limit_in_bytes'));
  }
  candidates.push(join(root, 'memory.max'), join(root, 'memory', 'memory.limit_in_bytes'));
  const limits = candidates.map(readNumber).filter((n): n is number => n !== undefined);
  return limits.length ? Math.min(...limits) : undefined;
}

function readSelfCgroup(): string {
  try {
    return readFileSync('/proc/self/cgroup', 'utf8');
  } catch {
    return '';
  }
}
