import type { Command } from 'commander';
import { nativeRuntimeState } from '../../../adapters/executorch/native-runtime.js';
import { toolchainState, venvDir } from '../../../adapters/executorch/toolchain.js';
import { detectBackends } from '../../../adapters/llamacpp/runtime.js';
import { hostInfo, pythonInfo } from '../../../adapters/system/host-info.js';
import { planBackends } from '../../../core/backend-policy.js';
import { DEFAULT_PRIORITY, parsePriority } from '../../../core/artifact-plan.js';
import { detectDevice } from '../../../adapters/system/device.js';
import { groupByModel } from '../../../adapters/models/cache.js';
import type { App } from '../../../composition.js';
import { formatBytes } from '../format.js';
import { out } from '../terminal.js';


export function registerDoctor(program: Command, app: () => App): void {
  program
    .command('doctor')
    .description('Check this machine: Node, CPU, memory, GPU backends, the model cache, Python and ExecuTorch')
    .option('--json', 'machine-readable output')
    .option('--no-verify', 'skip re-hashing the cached models')
    .action(async (flags: { json?: boolean; verify: boolean }) => {
      const [host, backends, python, cached, toolchain, runtime] = await Promise.all([hostInfo(), detectBackends(), pythonInfo(venvDir()), app().cache.list(), toolchainState(), nativeRuntimeState()]);
      const groups = groupByModel(cached.models);
      const plan = planBackends('auto', backends);
      const device = await detectDevice(backends);
      const priority = parsePriority(process.env.ONBOARD_PRIORITY ?? '').priority;
      // What `--model <name>` would try, in order, for each model in the cache.
      const choices = [];
      for (const [name, artifacts] of groups) {
        const artifactPlan = await app().planModel(artifacts, priority.length ? { priority } : {}, device);
        choices.push({
          model: name,
          tryInOrder: artifactPlan.candidates.map((c) => ({ artifact: c.artifact.id, target: c.target.backend, engine: c.target.engine, reason: c.reason })),
          skipped: artifactPlan.skipped,
        });
      }
      const models = [];
      for (const model of cached.models) {
        const check = flags.verify ? await app().cache.verify(model) : undefined;
        models.push({ id: model.manifest.id, path: model.path, sizeBytes: model.manifest.sizeBytes, checksum: check ? (check.ok ? 'ok' : `MISMATCH (${check.actualSha256})`) : 'not checked' });
      }
      const report = {
        node: host.node,
        platform: host.platform,
        cpu: host.cpu,
        memory: host.memory,
        backends,
        auto: { picks: plan.candidates[0], candidates: plan.candidates, skipped: plan.skipped },
        device: { ...device, priority: priority.length ? priority : DEFAULT_PRIORITY },
        models: choices,
        cache: { dir: app().cache.root, models, problems: cached.problems },
        python,
        toolchain,
        executorchRuntime: runtime,
      };
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      const lines = [
        `node       ${host.node} (${host.platform})`,
        `cpu        ${host.cpu.model}, ${host.cpu.logicalCores} logical cores, features: ${host.cpu.features.join(' ') || 'none detected'}`,
        `memory     ${formatBytes(host.memory.availableBytes)} available of ${formatBytes(host.memory.totalBytes)}`,
        ...backends.map((b) => `${b.backend.padEnd(10)} ${b.available ? `available${b.devices.length ? `: ${b.devices.join(', ')}` : ''}${b.softwareOnly ? ' (software only)' : ''}` : `unavailable: ${b.detail}`}`),
        `npu        ${device.npus.map((n) => `${n.name} on ${n.soc}`).join(', ') || (device.soc ? `none that QNN supports on ${device.soc.name ?? device.soc.model}` : 'none detected (Qualcomm HTP is detected on Android from the SoC)')}`,
        ...(device.soc ? [`soc        ${device.soc.manufacturer} ${device.soc.model}${device.soc.name ? ` (${device.soc.name})` : ''}`] : []),
        `auto       picks ${plan.candidates[0]}${plan.skipped.length ? ` (${plan.skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')})` : ''}`,
        `cache      ${app().cache.root}`,
        ...models.map((m) => `  ${m.id}  ${formatBytes(m.sizeBytes)}  checksum ${m.checksum}`),
        ...cached.problems.map((p) => `  ${p.id}  BROKEN: ${p.problem}`),
        ...(models.length === 0 ? ['  no models yet (onboard models pull)'] : []),
        ...choices.flatMap((c) => [
          `model      ${c.model}: tries ${c.tryInOrder.map((t) => `${t.artifact} on ${t.target}`).join(', then ') || 'nothing (no artifact runs here)'}`,
          ...c.skipped.map((s) => `             skips ${s.artifact} on ${s.backend}: ${s.reason}`),
        ]),
        `python     ${python.version ? `${python.version} (${python.python})` : python.problem}`,
        `runtime    ${runtime.state === 'ready' ? `native ExecuTorch ${runtime.version} (${runtime.addonPath}): .pte files run without Python` : `native ExecuTorch runtime missing: ${runtime.reason} (run \`onboard setup runtime\`)`}`,
        `executorch ${python.executorch && toolchain.state === 'ready' ? `${python.executorch} in ${toolchain.venvDir} (export ready)` : `toolchain ${toolchain.state}${'reason' in toolchain ? `: ${toolchain.reason}` : ''} (run \`onboard setup executorch\` to export models)`}`,
      ];
      out(`${lines.join('\n')}\n`);
      if (models.some((m) => m.checksum.startsWith('MISMATCH')) || cached.problems.length) process.exitCode = 3;
    });
}
