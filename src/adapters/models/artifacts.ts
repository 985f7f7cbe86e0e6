import { ACCELERATOR_CLASSES, TARGET_CLASS, type Artifact, type ArtifactTarget, type TargetBackend } from '../../core/artifact-plan.js';
import { OnboardError } from '../../core/errors.js';
import { inspectModelFile } from '../model-file.js';
import type { InstalledModel } from './cache.js';

/** ExecuTorch delegate ids, as a .pte names them, and the target each one is. */
const DELEGATES: Readonly<Record<string, TargetBackend>> = {
  QnnBackend: 'qnn',
  CoreMLBackend: 'coreml',
  VulkanBackend: 'vulkan',
  MPSBackend: 'mps',
  XnnpackBackend: 'xnnpack',
};

/** llama.cpp runs any GGUF on each of these. */
export const GGUF_BACKENDS = ['cuda', 'vulkan', 'cpu'] as const;

const classRank = (backend: TargetBackend) => ACCELERATOR_CLASSES.indexOf(TARGET_CLASS[backend]);

/** A ready artifact, or why it cannot be one (an unreadable file, an unknown delegate). */
export type ArtifactRead = { artifact: Artifact } | { id: string; problem: string };

/**
 * What an installed model file needs, read from the file itself: the
 * delegates in a .pte's program, or for a GGUF the llama.cpp backends
 * (any of CUDA, Vulkan, CPU). The file name never decides.
 */
export async function readArtifact(model: InstalledModel): Promise<ArtifactRead> {
  const { manifest, path } = model;
  try {
    const file = await inspectModelFile(path);
    const base = { id: manifest.id, path, sizeBytes: manifest.sizeBytes, quantization: manifest.quantization };
    if (file.format === 'pte') {
      const pte = file;
      const unknown = pte.backends.filter((b) => !DELEGATES[b]);
      if (unknown.length) return { id: manifest.id, problem: `needs ${unknown.join(', ')}, a delegate onboard cannot place` };
      const needs = pte.backends.map((b) => DELEGATES[b]!);
      const primary = [...needs].sort((a, b) => classRank(a) - classRank(b))[0] ?? 'portable';
      const target: ArtifactTarget = { engine: 'executorch', backend: primary, needs: needs.length ? needs : ['portable'] };
      return { artifact: { ...base, format: 'pte', targets: [target] } };
    }
    const targets: ArtifactTarget[] = GGUF_BACKENDS.map((backend) => ({ engine: 'llamacpp', backend, needs: [backend] }));
    return { artifact: { ...base, format: 'gguf', targets } };
  } catch (error) {
    if (error instanceof OnboardError) return { id: manifest.id, problem: `${error.code}: ${error.message}` };
    throw error;
  }
}
