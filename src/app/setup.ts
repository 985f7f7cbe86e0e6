import { nativeRuntimeState, setupNativeRuntime, type NativeRuntime } from '../adapters/executorch/native-runtime.js';
import { REQUIREMENTS_FILE, setupToolchain, toolchainState, type Toolchain } from '../adapters/executorch/toolchain.js';

export { REQUIREMENTS_FILE };

export interface SetupReport {
  /** One line per step, as it starts. */
  onStep: (line: string) => void;
  /** The installers' own progress lines. */
  log: (line: string) => void;
}

/** Installs the export toolchain (a Python venv); safe to re-run. */
export async function setUpToolchain(report: SetupReport): Promise<Toolchain> {
  const before = await toolchainState();
  report.onStep(before.state === 'ready' ? `checking ${before.venvDir} (already set up)` : `setting up ${before.venvDir}: ${before.reason}`);
  return setupToolchain({ log: report.log });
}

/** Installs the native ExecuTorch runtime (the wheel's libraries and onboard's addon); safe to re-run. */
export async function setUpNativeRuntime(report: SetupReport): Promise<NativeRuntime> {
  const runtime = await nativeRuntimeState();
  report.onStep(runtime.state === 'ready' ? 'checking the native runtime (already installed)' : `installing the native runtime: ${runtime.reason}`);
  return setupNativeRuntime({ log: report.log });
}
