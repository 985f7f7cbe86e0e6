import type { Command } from 'commander';
import type { App } from '../../../app/composition.js';
import { diagnose } from '../../../app/diagnose.js';
import { parsePriority } from '../../../core/artifact-plan.js';
import { formatBytes } from '../format.js';
import { out } from '../terminal.js';


export function registerDoctor(program: Command, app: () => App): void {
  program
    .command('doctor')
    .description('Check this machine: Node, CPU, memory, GPU backends, the model cache, Python and ExecuTorch')
    .option('--json', 'machine-readable output')
    .option('--no-verify', 'skip re-hashing the cached models')
    .action(async (flags: { json?: boolean; verify: boolean }) => {
      const report = await diagnose(app(), { verify: flags.verify, priority: parsePriority(process.env.ONBOARD_PRIORITY ?? '').priority });
      const { backends, device, python, toolchain, executorchRuntime: runtime, models: choices, auto: plan, privacy } = report;
      const { models, problems } = report.cache;
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      const lines = [
        `node       ${report.node} (${report.platform})`,
        `cpu        ${report.cpu.model}, ${report.cpu.logicalCores} logical cores, features: ${report.cpu.features.join(' ') || 'none detected'}`,
        `memory     ${formatBytes(report.memory.availableBytes)} available of ${formatBytes(report.memory.totalBytes)}`,
        ...backends.map((b) => `${b.backend.padEnd(10)} ${b.available ? `available${b.devices.length ? `: ${b.devices.join(', ')}` : ''}${b.softwareOnly ? ' (software only)' : ''}` : `unavailable: ${b.detail}`}`),
        `npu        ${device.npus.map((n) => `${n.name} on ${n.soc}`).join(', ') || (device.soc ? `none that QNN supports on ${device.soc.name ?? device.soc.model}` : 'none detected (Qualcomm HTP is detected on Android from the SoC)')}`,
        ...(device.soc ? [`soc        ${device.soc.manufacturer} ${device.soc.model}${device.soc.name ? ` (${device.soc.name})` : ''}`] : []),
        `auto       picks ${plan.picks}${plan.skipped.length ? ` (${plan.skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')})` : ''}`,
        `cache      ${report.cache.dir}`,
        ...models.map((m) => `  ${m.id}  ${formatBytes(m.sizeBytes)}  checksum ${m.checksum}`),
        ...problems.map((p) => `  ${p.id}  BROKEN: ${p.problem}`),
        ...(models.length === 0 ? ['  no models yet (onboard models pull)'] : []),
        ...choices.flatMap((c) => [
          `model      ${c.model}: tries ${c.tryInOrder.map((t) => `${t.artifact} on ${t.target}`).join(', then ') || 'nothing (no artifact runs here)'}`,
          ...c.skipped.map((s) => `             skips ${s.artifact} on ${s.backend}: ${s.reason}`),
        ]),
        `python     ${python.version ? `${python.version} (${python.python})` : python.problem}`,
        `runtime    ${runtime.state === 'ready' ? `native ExecuTorch ${runtime.version} (${runtime.addonPath}): .pte files run without Python` : `native ExecuTorch runtime missing: ${runtime.reason} (run \`onboard setup runtime\`)`}`,
        `executorch ${python.executorch && toolchain.state === 'ready' ? `${python.executorch} in ${toolchain.venvDir} (export ready)` : `toolchain ${toolchain.state}${'reason' in toolchain ? `: ${toolchain.reason}` : ''} (run \`onboard setup executorch\` to export models)`}`,
        `privacy    prompt logging ${privacy.promptLogging}`,
        `           conversations ${privacy.database.path}: ${privacy.database.state === 'absent' ? 'none yet' : privacy.database.state}${privacy.database.keyGiven ? ' (database key given)' : privacy.database.state === 'plain' ? ' (not encrypted: give --db-key-file to encrypt a new database)' : ''}`,
        `           model key ${privacy.modelKeyGiven ? 'given' : 'not given (encrypted models cannot be loaded)'}`,
      ];
      out(`${lines.join('\n')}\n`);
      if (models.some((m) => m.checksum.startsWith('MISMATCH')) || problems.length) process.exitCode = 3;
    });
}
