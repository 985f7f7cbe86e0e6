import { ACCELERATOR_CLASSES, TARGET_CLASS, type ArtifactTarget, type TargetBackend } from '../../core/artifact-plan.js';
import { BackendUnavailableError } from '../../core/errors.js';
import type { PteSummary } from '../pte/reader.js';

/** ExecuTorch delegate ids, as a .pte names them, and the target each one is. */
const DELEGATES: Readonly<Record<string, TargetBackend>> = {
  QnnBackend: 'qnn',
  CoreMLBackend: 'coreml',
  VulkanBackend: 'vulkan',
  MPSBackend: 'mps',
  XnnpackBackend: 'xnnpack',
};

const classRank = (backend: TargetBackend) => ACCELERATOR_CLASSES.indexOf(TARGET_CLASS[backend]);

/**
 * The one way to run a program: on the delegates it holds, named by the
 * best-class one (a Vulkan program also holds XNNPACK partitions), or on the
 * portable kernels when it holds none.
 */
export function pteTarget(pte: PteSummary): ArtifactTarget {
  const unknown = pte.backends.filter((b) => !DELEGATES[b]);
  if (unknown.length) throw new BackendUnavailableError(unknown.join(', '), `the program needs ${unknown.join(', ')}, a delegate onboard cannot place`);
  const needs = pte.backends.map((b) => DELEGATES[b]!);
  const primary = [...needs].sort((a, b) => classRank(a) - classRank(b))[0] ?? 'portable';
  return { engine: 'executorch', backend: primary, needs: needs.length ? needs : ['portable'] };
}
