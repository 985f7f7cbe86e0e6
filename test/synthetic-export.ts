// A SYNTHETIC checkpoint of one architecture (2 layers, a 1024-token vocabulary) exported to
// an fp32 .pte for XNNPACK (what the architecture and tokenizer tests run) or for Vulkan (a program
// this runtime must refuse, for the chain test: seconds to make, where the full model's Vulkan
// export takes a quarter of an hour). Made once: the checkpoint
// lives at a fixed place outside the repo (the maker writes the same bytes every time, so it is
// reused) and the export is cached by its key, so later runs take seconds.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SyntheticCheckpoint } from '../src/adapters/executorch/synthetic-checkpoint.js';
import { configFromEnv } from '../src/app/composition.js';
import { runCli } from './helpers.js';

export const SYNTHETIC_LAYERS = 2;
export const SYNTHETIC_VOCAB = 1024;
export const EXPORT_TIMEOUT_MS = 20 * 60_000;

export interface SyntheticExport {
  checkpoint: SyntheticCheckpoint;
  pte: string;
  manifest: { synthetic?: { shapeOf: string; layers: number }; quantization?: string; quality?: { top1Agreement: number; positions: number } };
}

const BACKEND_YAML = {
  xnnpack: 'backend: {xnnpack: {enabled: true, extended_ops: true}}',
  vulkan: 'backend: {vulkan: {enabled: true}}',
} as const;

export interface SyntheticExportOptions {
  backend?: keyof typeof BACKEND_YAML;
  /** `none` (fp32, the default) or `8da8w` (per channel, as the default CPU export). */
  qmode?: 'none' | '8da8w';
  /** quantization.smooth_alpha (8da8w only). */
  smooth?: number;
  /** Appended to the output name, for a second export of the same job. */
  suffix?: string;
  env?: NodeJS.ProcessEnv;
}

const QUANTIZATION_YAML = { none: 'quantization: {qmode: none}', '8da8w': 'quantization: {qmode: 8da8w, group_size: 0}' } as const;

/** `scratch`: a temporary folder for the export config. */
export async function syntheticExport(arch: string, scratch: string, options: SyntheticExportOptions = {}): Promise<SyntheticExport & { sha256: string }> {
  const { backend = 'xnnpack', qmode = 'none', suffix = '' } = options;
  const out = join(configFromEnv().cacheDir, 'synthetic', `test-${arch}-l${SYNTHETIC_LAYERS}-v${SYNTHETIC_VOCAB}`);
  const made = await runCli(['dev', 'make-checkpoint', '--arch', arch, '--layers', String(SYNTHETIC_LAYERS), '--vocab', String(SYNTHETIC_VOCAB), '--out', out, '--json']);
  assert.equal(made.code, 0, made.stderr);
  const checkpoint = JSON.parse(made.stdout) as SyntheticCheckpoint;
  const name = `synthetic-${arch.replaceAll('_', '-')}-l${SYNTHETIC_LAYERS}-${backend}-${qmode === 'none' ? 'fp32' : qmode}${suffix}`;
  const config = join(scratch, `${name}.yaml`);
  const quantization = options.smooth === undefined ? QUANTIZATION_YAML[qmode] : QUANTIZATION_YAML[qmode].replace(/}$/, `, smooth_alpha: ${options.smooth}}`);
  await writeFile(
    config,
    `base: {model_class: ${checkpoint.model_class}, checkpoint: ${checkpoint.path}}\n` +
      `model: {max_seq_length: 256}\n${BACKEND_YAML[backend]}\n${quantization}\n` +
      `export: {output_name: ${name}}\n`,
  );
  const exported = await runCli(['export', '--config', config, '--json'], { timeoutMs: EXPORT_TIMEOUT_MS, env: options.env });
  assert.equal(exported.code, 0, exported.stderr);
  const result = JSON.parse(exported.stdout) as { model: { path: string; manifest: SyntheticExport['manifest'] & { sha256: string } } };
  return { checkpoint, pte: result.model.path, manifest: result.model.manifest, sha256: result.model.manifest.sha256 };
}
