import { existsSync } from 'node:fs';
import { getLlama, LlamaLogLevel, NoBinaryFoundError, type Llama } from 'node-llama-cpp';
import { isSoftwareDevice, type BackendCapability } from '../../core/backend-policy.js';
import type { BackendName } from '../../core/types.js';

/**
 * One llama.cpp runtime per backend, loaded once per process: loading a
 * backend's native binary takes most of a second.
 */
const runtimes = new Map<BackendName, Promise<Llama>>();

export function llamaRuntime(backend: BackendName): Promise<Llama> {
  let runtime = runtimes.get(backend);
  if (!runtime) {
    runtime = getLlama({
      gpu: backend === 'cpu' ? false : backend,
      build: 'never',
      skipDownload: true,
      progressLogs: false,
      logLevel: LlamaLogLevel.error,
      // A model we fail to load is reported by us; llama.cpp's own stderr lines would only repeat it.
      logger: () => {},
    });
    runtime.catch(() => runtimes.delete(backend));
    runtimes.set(backend, runtime);
  }
  return runtime;
}

const NVIDIA_DRIVER = '/proc/driver/nvidia/version';

/** Detects what each llama.cpp backend can use on this machine. */
export async function detectBackends(): Promise<BackendCapability[]> {
  const found: BackendCapability[] = [{ backend: 'cpu', available: true, devices: [], softwareOnly: false }];
  for (const backend of ['cuda', 'vulkan'] as const) found.push(await detectGpuBackend(backend));
  return found;
}

async function detectGpuBackend(backend: 'cuda' | 'vulkan'): Promise<BackendCapability> {
  // Loading the CUDA binary without a driver only costs time and prints noise.
  if (backend === 'cuda' && !existsSync(NVIDIA_DRIVER)) {
    return { backend, available: false, devices: [], softwareOnly: false, detail: `no NVIDIA driver (${NVIDIA_DRIVER} is missing)` };
  }
  try {
    const llama = await llamaRuntime(backend);
    const devices = await llama.getGpuDeviceNames();
    if (devices.length === 0) return { backend, available: false, devices, softwareOnly: false, detail: noDeviceReason(backend) };
    return { backend, available: true, devices, softwareOnly: devices.every(isSoftwareDevice) };
  } catch (error) {
    return { backend, available: false, devices: [], softwareOnly: false, detail: describeLoadFailure(backend, error) };
  }
}

/** Why a GPU runtime that loaded is still of no use. */
export function noDeviceReason(backend: 'cuda' | 'vulkan'): string {
  return backend === 'vulkan'
    ? 'the Vulkan runtime loaded but llama.cpp sees no GPU device (it hides software devices such as llvmpipe unless GGML_VK_VISIBLE_DEVICES is set, e.g. GGML_VK_VISIBLE_DEVICES=0)'
    : 'the CUDA runtime loaded but found no device';
}

export function describeLoadFailure(backend: BackendName, error: unknown): string {
  if (error instanceof NoBinaryFoundError) {
    return backend === 'cuda'
      ? 'no CUDA driver or toolkit usable by the prebuilt CUDA binary'
      : `the prebuilt ${backend} binary cannot run here (for Vulkan install libvulkan1 and a driver, e.g. mesa-vulkan-drivers)`;
  }
  return (error as Error)?.message?.split('\n')[0] ?? String(error);
}
