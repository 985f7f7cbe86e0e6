import type { Command } from 'commander';
import type { App } from '../../../app/composition.js';
import type { ExportStage } from '../../../app/export-model.js';
import { formatBytes } from '../format.js';
import { out, err } from '../terminal.js';

interface ExportFlags {
  config: string;
  set: string[];
  checkpoint?: string;
  outputName?: string;
  outputDir?: string;
  force?: boolean;
  json?: boolean;
}

export function registerExport(program: Command, app: () => App): void {
  program
    .command('export')
    .description('Export and quantize a model to an ExecuTorch .pte with the real ExecuTorch exporter, verify it, install it in the cache')
    .requiredOption('-c, --config <file.yaml>', 'export config (see configs/)')
    .option('--set <key=value>', 'override any config key, e.g. --set quantization.qmode=none (repeatable)', collect, [])
    .option('--checkpoint <path|model:id>', 'override base.checkpoint')
    .option('--output-name <name>', 'override export.output_name (the model id in the cache)')
    .option('--output-dir <dir>', 'override export.output_dir (also copy the results here)')
    .option('--force', 'export again even if an identical export is in the cache')
    .option('--json', 'print the manifest as JSON')
    .addHelpText('after', '\nStages print with elapsed time; the exporter\'s full log is kept next to the .pte (or under <cache>/logs when it fails).')
    .action(async (flags: ExportFlags) => {
      const overrides = [...flags.set];
      if (flags.checkpoint !== undefined) overrides.push(`base.checkpoint=${flags.checkpoint}`);
      if (flags.outputName !== undefined) overrides.push(`export.output_name=${flags.outputName}`);
      if (flags.outputDir !== undefined) overrides.push(`export.output_dir=${flags.outputDir}`);

      const controller = new AbortController();
      const onSignal = () => {
        err('\ncancelling the export; nothing will be installed\n');
        controller.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const started = Date.now();
      const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`.padStart(7);
      try {
        const outcome = await app().exportModel({
          configPath: flags.config,
          overrides,
          log: (line) => err(`  ${line}\n`),
          ...(flags.force ? { force: true } : {}),
          signal: controller.signal,
          onStage: (stage: ExportStage, detail: string) => err(`[${elapsed()}] ${stage.padEnd(8)} ${detail}\n`),
        });
        const m = outcome.model.manifest;
        if (flags.json) {
          process.stdout.write(`${JSON.stringify({ ...outcome, model: { path: outcome.model.path, manifest: m } }, null, 2)}\n`);
          return;
        }
        const lines = [
          outcome.reused ? `${m.id} is up to date (same config, source and toolchain as the cached export; --force to redo it)` : `exported ${m.id} in ${m.exportDurationSeconds}s`,
          `  file          ${outcome.model.path} (${formatBytes(m.sizeBytes)}, sha256 ${m.sha256})`,
          `  backends      ${m.backends.join(', ') || 'none (portable kernels)'}`,
          `  quantization  ${m.quantization}`,
          `  sequence      max ${m.maxSeqLength} tokens, context ${m.maxContextLength}, vocabulary ${m.vocabularySize}, BOS ${m.bosId}, EOS ${m.eosIds.join(',')}`,
          m.verification
            ? `  verified      logits ${JSON.stringify(m.verification.logitsShape)}; "${m.verification.prompt}" -> ${JSON.stringify(m.verification.continuation)}`
            : `  verified      no: ${outcome.verificationSkipped ?? 'skipped'}`,
          `  log           ${outcome.logPath}`,
          ...(outcome.copiedTo ? [`  copied to     ${outcome.copiedTo}`] : []),
        ];
        out(`${lines.join('\n')}\n`);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
