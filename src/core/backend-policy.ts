import type { BackendAttempt, BackendName, BackendRequest } from './types.js';

/** What detection found for one backend on this machine. */
export interface BackendCapability {
  backend: BackendName;
  available: boolean;
  devices: string[];
  /** Software renderers (llvmpipe, lavapipe, SwiftShader) emulate a GPU on the CPU. */
  softwareOnly: boolean;
  /** Why it is unavailable, when it is. */
  detail?: string;
}

/** Best first: a real GPU beats the CPU; CUDA is the fastest where it exists. */
export const AUTO_ORDER: readonly BackendName[] = ['cuda', 'vulkan', 'cpu'];

export interface BackendPlan {
  /** Backends to try, in order. */
  candidates: BackendName[];
  /** Backends left out before trying, with the reason. */
  skipped: BackendAttempt[];
}

/**
 * Decides which backends to try. An explicit request is tried alone (and
 * fails loudly if unavailable). `auto` walks AUTO_ORDER, skipping what the
 * machine lacks and software-only GPU devices, which are slower than the
 * CPU backend they emulate; the CPU is always the last resort.
 */
export function planBackends(request: BackendRequest, capabilities: readonly BackendCapability[]): BackendPlan {
  if (request !== 'auto') return { candidates: [request], skipped: [] };
  const candidates: BackendName[] = [];
  const skipped: BackendAttempt[] = [];
  for (const backend of AUTO_ORDER) {
    const capability = capabilities.find((c) => c.backend === backend);
    if (backend === 'cpu') candidates.push(backend);
    else if (!capability?.available) skipped.push({ backend, outcome: 'skipped', reason: capability?.detail ?? 'not detected on this machine' });
    else if (capability.softwareOnly)
      skipped.push({ backend, outcome: 'skipped', reason: softwareOnlyReason(capability.devices, `use --backend ${backend} to force it`) });
    else candidates.push(backend);
  }
  return { candidates, skipped };
}

/** Why a GPU whose only devices are software renderers is passed over, and how to use it anyway. */
export function softwareOnlyReason(devices: readonly string[], howToForce: string): string {
  return `only a software device (${devices.join(', ')}), slower than the CPU; ${howToForce}`;
}

const SOFTWARE_DEVICE = /llvmpipe|lavapipe|swiftshader|softpipe/i;

export function isSoftwareDevice(name: string): boolean {
  return SOFTWARE_DEVICE.test(name);
}
