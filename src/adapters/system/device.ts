import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { BackendCapability } from '../../core/backend-policy.js';
import type { DeviceProfile } from '../../core/artifact-plan.js';
import { detectBackends } from '../llamacpp/runtime.js';
import { parseGetprop, socFromProps, type AndroidSoc } from './android-soc.js';
import { hostInfo, type HostInfo } from './host-info.js';

const run = promisify(execFile);

/** Reads the Android system properties; undefined off Android or when getprop is missing. */
async function androidSoc(): Promise<AndroidSoc | undefined> {
  if (process.platform !== 'android') return undefined;
  try {
    const { stdout } = await run('getprop', [], { timeout: 5_000, maxBuffer: 4 * 1024 * 1024 });
    return socFromProps(parseGetprop(stdout));
  } catch {
    return undefined;
  }
}

/**
 * What this device has: CPU features, GPUs (Vulkan and CUDA, as llama.cpp
 * sees them), and on Android the SoC and its NPU from the system properties.
 */
export async function detectDevice(backends?: BackendCapability[]): Promise<DeviceProfile> {
  const [host, gpuBackends, soc] = await Promise.all([hostInfo(), backends ?? detectBackends(), androidSoc()]);
  return deviceProfile(host, gpuBackends, soc);
}

/** Assembles a profile from what was detected (pure, so recorded values can be tested). */
export function deviceProfile(host: Pick<HostInfo, 'platform' | 'cpu'>, gpuBackends: readonly BackendCapability[], soc: AndroidSoc | undefined): DeviceProfile {
  const gpus: DeviceProfile['gpus'] = [];
  const gpuNotes: DeviceProfile['gpuNotes'] = {};
  for (const capability of gpuBackends) {
    if (capability.backend === 'cpu') continue;
    if (!capability.available) gpuNotes[capability.backend] = capability.detail ?? `no ${capability.backend} device`;
    for (const name of capability.devices) gpus.push({ api: capability.backend, name, softwareOnly: capability.softwareOnly });
  }
  if (soc?.vulkanDriver && !gpus.some((g) => g.api === 'vulkan')) gpus.push({ api: 'vulkan', name: `${soc.vulkanDriver} (ro.hardware.vulkan)`, softwareOnly: false });
  return {
    platform: host.platform,
    cpu: host.cpu,
    gpus,
    npus: soc?.npu ? [{ kind: 'qnn-htp', name: `Hexagon HTP ${soc.npu.htpArch}`, soc: soc.npu.chipset, htpArch: soc.npu.htpArch }] : [],
    ...(soc ? { soc: { manufacturer: soc.manufacturer, model: soc.model, ...(soc.name ? { name: soc.name } : {}), ...(soc.platform ? { platform: soc.platform } : {}) } } : {}),
    gpuNotes,
  };
}
