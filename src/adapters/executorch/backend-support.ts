import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ExportBackendUnavailableError } from '../../core/errors.js';
import type { ExportConfig } from '../../core/export-config.js';
import { pathExists } from '../files/file-checks.js';
import type { Toolchain } from './toolchain.js';

/** The executorch package folder inside the venv. */
export async function executorchPackageDir(toolchain: Toolchain): Promise<string> {
  const lib = join(toolchain.venvDir, 'lib');
  const python = (await readdir(lib)).find((name) => name.startsWith('python3'));
  return join(lib, python ?? 'python3', 'site-packages', 'executorch');
}

/**
 * Checks, before any slow step, that this machine can export for every
 * backend the config enables. Each failure says what is missing and how to get it.
 */
export async function checkExportBackends(config: ExportConfig, toolchain: Toolchain, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const executorch = await executorchPackageDir(toolchain);
  const has = (path: string) => pathExists(join(executorch, path));
  if (config.backend.xnnpack.enabled && !(await has('backends/xnnpack/partition'))) {
    throw new ExportBackendUnavailableError('XNNPACK', `the installed executorch has no XNNPACK partitioner (${executorch})`, 'Run `onboard setup executorch` to reinstall the pinned executorch.');
  }
  if (config.backend.vulkan.enabled && !(await has('backends/vulkan/partitioner/vulkan_partitioner.py'))) {
    throw new ExportBackendUnavailableError('Vulkan', 'the installed executorch build has no Vulkan partitioner', 'Install an executorch build with the Vulkan backend (build from source with -DEXECUTORCH_BUILD_VULKAN=ON).');
  }
  if (config.backend.qnn.enabled) {
    const sdk = env.QNN_SDK_ROOT;
    if (!sdk) {
      throw new ExportBackendUnavailableError(
        'QNN',
        'the Qualcomm AI Engine Direct (QNN) SDK is not installed: QNN_SDK_ROOT is not set',
        "Download the QNN SDK from Qualcomm's developer site, set QNN_SDK_ROOT to its folder and run on an x86-64 Linux host. See docs/model-preparation.md (QNN).",
      );
    }
    const htp = join(sdk, 'lib', 'x86_64-linux-clang', 'libQnnHtp.so');
    if (!(await pathExists(htp))) throw new ExportBackendUnavailableError('QNN', `QNN_SDK_ROOT=${sdk} has no ${htp}`, 'Point QNN_SDK_ROOT at the root of an unpacked QNN SDK (it contains lib/x86_64-linux-clang).');
    if (!(await has('backends/qualcomm/python'))) {
      throw new ExportBackendUnavailableError('QNN', 'the installed executorch has no Qualcomm backend', 'Run `onboard setup executorch` to reinstall the pinned executorch.');
    }
  }
}

/** Whether this host's runtime can load the artifact to verify it; Vulkan and QNN programs run only on their devices. */
export function runtimeCanVerify(config: ExportConfig): { ok: true } | { ok: false; reason: string } {
  if (config.backend.vulkan.enabled) return { ok: false, reason: "the executorch wheel's runtime has no VulkanBackend; load the .pte on a device with Vulkan (onboard's fallback chain will try it there)" };
  if (config.backend.qnn.enabled) return { ok: false, reason: 'QNN programs run only on a Snapdragon device with the QNN runtime libraries' };
  return { ok: true };
}
