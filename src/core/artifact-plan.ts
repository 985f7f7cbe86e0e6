import { softwareOnlyReason } from './backend-policy.js';

/**
 * Choosing among a model's artifacts (several .pte files, a GGUF...) by what
 * the device has. Pure logic: the device profile and each artifact's needs
 * are read by adapters; this file only orders and explains.
 */

import { ACCELERATOR_CLASSES, type AcceleratorClass } from './types.js';

export { ACCELERATOR_CLASSES, type AcceleratorClass };

/** A concrete way to run an artifact: ExecuTorch delegates, or llama.cpp backends. */
export type TargetBackend = 'qnn' | 'coreml' | 'vulkan' | 'cuda' | 'mps' | 'xnnpack' | 'portable' | 'cpu';

export const TARGET_CLASS: Readonly<Record<TargetBackend, AcceleratorClass>> = {
  qnn: 'npu',
  coreml: 'npu',
  vulkan: 'gpu',
  cuda: 'gpu',
  mps: 'gpu',
  xnnpack: 'cpu',
  portable: 'cpu',
  cpu: 'cpu',
};

export type PriorityItem = AcceleratorClass | TargetBackend;

export const DEFAULT_PRIORITY: readonly PriorityItem[] = ACCELERATOR_CLASSES;

/** Every word a priority list may hold: the classes, then the backends (`cpu` is both). */
export const PRIORITY_ITEMS: readonly string[] = [...new Set<string>([...ACCELERATOR_CLASSES, ...Object.keys(TARGET_CLASS)])];

/** What detection found on this device. */
export interface DeviceProfile {
  platform: string;
  cpu: { model: string; logicalCores: number; features: string[] };
  gpus: Array<{ api: 'vulkan' | 'cuda'; name: string; softwareOnly: boolean }>;
  npus: Array<{ kind: 'qnn-htp'; name: string; soc: string; htpArch: string }>;
  /** On Android: the SoC read from the system properties. */
  soc?: { manufacturer: string; model: string; name?: string; platform?: string };
  /** Why a GPU API shows no device, when detection said why. */
  gpuNotes: Partial<Record<'vulkan' | 'cuda', string>>;
}

/** One way to run an artifact, as the file itself says (delegates in a .pte; GGUF runs on any llama.cpp backend). */
export interface ArtifactTarget {
  /** The id of the engine that runs it (see EngineEntry). */
  engine: string;
  backend: TargetBackend;
  /** Every delegate the program needs at run time (a Vulkan .pte also holds XNNPACK partitions). */
  needs: TargetBackend[];
}

export interface Artifact {
  id: string;
  path: string;
  format: string;
  sizeBytes: number;
  quantization: string;
  /** Measured at export: the share of positions where its top-1 token is the unquantized model's. */
  top1Agreement?: number;
  targets: ArtifactTarget[];
  /** What the engine read from the file while planning, handed to its load so the file is read once. */
  header?: unknown;
}

export interface PlannedAttempt {
  artifact: Artifact;
  target: ArtifactTarget;
  /** Why it is in the chain at this place. */
  reason: string;
}

export interface ArtifactSkip {
  artifact: string;
  /** `any` when the whole artifact is left out (unreadable, or not for the requested engine). */
  backend: TargetBackend | 'any';
  reason: string;
}

export interface ArtifactPlan {
  candidates: PlannedAttempt[];
  skipped: ArtifactSkip[];
}

/** What the device lacks for `backend`, or undefined when it has it. */
function missingOnDevice(backend: TargetBackend, device: DeviceProfile, named: boolean): string | undefined {
  switch (backend) {
    case 'qnn':
      if (device.npus.some((n) => n.kind === 'qnn-htp')) return undefined;
      return device.soc ? `the SoC ${device.soc.name ?? device.soc.model} has no Qualcomm HTP NPU that QNN supports` : 'no Qualcomm HTP NPU on this device (QNN runs on Snapdragon SoCs)';
    case 'coreml':
    case 'mps':
      return device.platform.startsWith('darwin') ? undefined : `${backend === 'coreml' ? 'Core ML' : 'Metal'} runs only on Apple devices`;
    case 'vulkan':
    case 'cuda': {
      const gpus = device.gpus.filter((g) => g.api === backend);
      if (gpus.length === 0) return device.gpuNotes[backend] ?? `no ${backend === 'cuda' ? 'CUDA' : 'Vulkan'} device`;
      // A software renderer emulates the GPU on the CPU: slower than the CPU targets, so only used when named.
      if (!named && gpus.every((g) => g.softwareOnly)) return softwareOnlyReason(gpus.map((g) => g.name), `name it in the priority (--priority ${backend},cpu) to use it anyway`);
      return undefined;
    }
    default:
      return undefined;
  }
}

function matches(item: PriorityItem, backend: TargetBackend): boolean {
  return item === backend || item === TARGET_CLASS[backend];
}

/** An artifact whose measured top-1 agreement is below this lost too much to quantization: others come first. */
export const QUALITY_FLOOR = 0.9;

const losesQuality = (artifact: Artifact): boolean => artifact.top1Agreement !== undefined && artifact.top1Agreement < QUALITY_FLOOR;

/** 0: measured to keep the model's choices; 1: never measured (an older export, a GGUF); 2: measured to lose them. */
const qualityRank = (artifact: Artifact): number => (artifact.top1Agreement === undefined ? 1 : losesQuality(artifact) ? 2 : 0);

/**
 * Orders the ways to run a model's artifacts. The priority list is walked in
 * order; each item (a class such as `gpu`, or a backend such as `vulkan`)
 * takes the targets it matches that the device has. Within one item an
 * artifact made for fewer targets comes first (an ExecuTorch program exported
 * for this kind of device before a GGUF any backend runs), then one measured
 * to keep the model's choices (top-1 agreement of at least QUALITY_FLOOR), then
 * one never measured, then one measured to lose them, then the smaller file
 * (decoding is memory-bound). Targets no item names are left out, with the reason.
 */
export function planArtifacts(artifacts: readonly Artifact[], device: DeviceProfile, priority: readonly PriorityItem[] = DEFAULT_PRIORITY): ArtifactPlan {
  const candidates: PlannedAttempt[] = [];
  const skipped: ArtifactSkip[] = [];
  const seen = new Set<string>();
  const key = (a: Artifact, t: ArtifactTarget) => `${a.id}\u0000${t.backend}`;
  for (const item of priority) {
    const here: PlannedAttempt[] = [];
    for (const artifact of artifacts) {
      for (const target of artifact.targets) {
        if (!matches(item, target.backend) || seen.has(key(artifact, target))) continue;
        seen.add(key(artifact, target));
        const named = item === target.backend;
        const missing = target.needs.map((need) => missingOnDevice(need, device, named || need !== target.backend)).find((m) => m !== undefined);
        if (missing) skipped.push({ artifact: artifact.id, backend: target.backend, reason: missing });
        else {
          const quality = losesQuality(artifact) ? `; ranked after those that keep the model's choices (top-1 agreement ${(artifact.top1Agreement! * 100).toFixed(1)}% is under ${QUALITY_FLOOR * 100}%)` : '';
          here.push({ artifact, target, reason: `${item}${named ? '' : ` (${target.backend})`}, by priority ${priority.join(',')}${quality}` });
        }
      }
    }
    here.sort((a, b) => a.artifact.targets.length - b.artifact.targets.length || qualityRank(a.artifact) - qualityRank(b.artifact) || a.artifact.sizeBytes - b.artifact.sizeBytes);
    candidates.push(...here);
  }
  for (const artifact of artifacts) {
    for (const target of artifact.targets) {
      if (!seen.has(key(artifact, target))) skipped.push({ artifact: artifact.id, backend: target.backend, reason: `not in the priority list (${priority.join(',')})` });
    }
  }
  return { candidates, skipped };
}

/** Parses a priority list such as "npu,gpu,cpu" or "vulkan,cpu"; returns the unknown items. */
export function parsePriority(text: string): { priority: PriorityItem[]; unknown: string[] } {
  const known = new Set(PRIORITY_ITEMS);
  const items = text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  return { priority: items.filter((i) => known.has(i)) as PriorityItem[], unknown: items.filter((i) => !known.has(i)) };
}

