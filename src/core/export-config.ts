import { z } from 'zod';
import { MODEL_ID_PATTERN, MODEL_ID_RULE } from './model-id.js';

/**
 * The export config: the guide's YAML shape for ExecuTorch's LLM exporter.
 * Every object is strict, so a misspelt key is an error that names it
 * instead of a setting silently ignored after a ten-minute export.
 */

/**
 * The model classes (ExecuTorch's LlmConfig ModelType names) our converter maps onto its Llama
 * transformer, by architecture family: one module each in python/onboard_executorch/architectures,
 * whose MODEL_CLASSES this mirrors (a test holds the two together).
 */
export const EXPORT_FAMILIES = {
  lfm2: ['lfm2_350m', 'lfm2_700m', 'lfm2_1_2b', 'lfm2_5_350m', 'lfm2_5_1_2b'],
  llama: ['smollm2', 'llama3_2', 'llama3_1', 'llama3'],
  motif: ['motif_2_6b'],
  phi3: ['phi_4_mini'],
  qwen2: ['qwen2_5_0_5b', 'qwen2_5_1_5b', 'qwen2_5_coder_32b'],
  qwen3: ['qwen3_0_6b', 'qwen3_1_7b', 'qwen3_4b'],
} as const;
export type ExportFamily = keyof typeof EXPORT_FAMILIES;
type ModelClass = (typeof EXPORT_FAMILIES)[ExportFamily][number];
/** The Llama family first: the classes most configs use lead the error's list. */
export const EXPORT_MODEL_CLASSES = [...EXPORT_FAMILIES.llama, ...EXPORT_FAMILIES.qwen2, ...EXPORT_FAMILIES.qwen3, ...EXPORT_FAMILIES.phi3, ...EXPORT_FAMILIES.lfm2, ...EXPORT_FAMILIES.motif] as [ModelClass, ...ModelClass[]];

export function exportFamily(modelClass: string): ExportFamily {
  const family = (Object.keys(EXPORT_FAMILIES) as ExportFamily[]).find((name) => (EXPORT_FAMILIES[name] as readonly string[]).includes(modelClass));
  if (!family) throw new Error(`no architecture family has the model class ${modelClass}`);
  return family;
}
/** 8da4w / 8da8w: 8-bit dynamic activations with 4- or 8-bit weights (XNNPACK); int8: 8-bit weights only. */
export const EXPORT_QMODES = ['8da4w', '8da8w', 'int8', 'none'] as const;
export const EXPORT_DTYPES = ['fp32', 'fp16', 'bf16'] as const;
/** Weight group sizes the XNNPACK kernels accept; 0 is one scale per output channel (8da8w only). */
export const EXPORT_GROUP_SIZES = [0, 32, 64, 128, 256] as const;
/** The modes that quantize activations dynamically and run through XNNPACK. */
const DYNAMIC_QMODES: readonly string[] = ['8da4w', '8da8w'];

const flag = z.boolean();

export const exportConfigSchema = z
  .strictObject({
    base: z.strictObject({
      model_class: z.enum(EXPORT_MODEL_CLASSES),
      /** A Hugging Face model directory, a .gguf file, a Meta .pth checkpoint, or `model:<id>` from the cache. */
      checkpoint: z.string().min(1),
      /** Meta params.json; required with a .pth checkpoint, derived from config.json or GGUF otherwise. */
      params: z.string().min(1).optional(),
      /** tokenizer.json; required with a .pth checkpoint. */
      tokenizer: z.string().min(1).optional(),
    }),
    model: z
      .strictObject({
        use_kv_cache: flag.default(true),
        use_sdpa_with_kv_cache: flag.default(true),
        enable_dynamic_shape: flag.default(true),
        max_seq_length: z.number().int().min(16).max(131072).default(512),
        max_context_length: z.number().int().min(16).max(131072).optional(),
        dtype: z.enum(EXPORT_DTYPES).default('fp32'),
      })
      .prefault({}),
    backend: z
      .strictObject({
        xnnpack: z.strictObject({ enabled: flag.default(false), extended_ops: flag.default(false) }).prefault({}),
        vulkan: z.strictObject({ enabled: flag.default(false) }).prefault({}),
        qnn: z
          .strictObject({
            enabled: flag.default(false),
            soc_model: z
              .string()
              .regex(/^SM\d{4}$/, 'a Qualcomm SoC model such as SM8650')
              .default('SM8650'),
          })
          .prefault({}),
      })
      .prefault({}),
    quantization: z
      .strictObject({
        qmode: z.enum(EXPORT_QMODES).default('none'),
        group_size: z
          .number()
          .int()
          .refine((n) => (EXPORT_GROUP_SIZES as readonly number[]).includes(n), { message: `must be one of ${EXPORT_GROUP_SIZES.join(', ')}` })
          .default(128),
        /** "<bits>,<group size>" for the embedding table, e.g. "8,0" (per channel) or "4,32". */
        embedding_quantize: z
          .string()
          .regex(/^(4|8),\d+$/, 'the form "<bits 4 or 8>,<group size, 0 for per-channel>", e.g. "8,0"')
          .optional(),
        /**
         * SmoothQuant's migration strength: activation outliers folded into the weights before
         * 8-bit dynamic activation quantization (python/onboard_executorch/smoothing.py).
         */
        smooth_alpha: z.number().gt(0).lt(1).optional(),
      })
      .prefault({}),
    export: z.strictObject({
      output_name: z.string().regex(MODEL_ID_PATTERN, `must be ${MODEL_ID_RULE} (it becomes the model id)`),
      /** Also copy the .pte, tokenizer and manifest here; the cache always gets them. */
      output_dir: z.string().min(1).optional(),
      /** Encrypt the .pte at rest with the model key (ONBOARD_MODEL_KEY or --key-file); it is never left plain in the cache or output_dir. */
      encrypt: flag.default(false),
    }),
  })
  .superRefine((config, ctx) => {
    const issue = (path: string[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (config.model.use_sdpa_with_kv_cache && !config.model.use_kv_cache) {
      issue(['model', 'use_sdpa_with_kv_cache'], 'needs model.use_kv_cache: true');
    }
    if (config.model.max_context_length !== undefined && config.model.max_context_length < config.model.max_seq_length) {
      issue(['model', 'max_context_length'], `must be at least model.max_seq_length (${config.model.max_seq_length})`);
    }
    const backends = config.backend;
    const qmode = config.quantization.qmode;
    if (!backends.xnnpack.enabled && !backends.vulkan.enabled && !backends.qnn.enabled && DYNAMIC_QMODES.includes(qmode)) {
      issue(['quantization', 'qmode'], `${qmode} runs through XNNPACK kernels: enable backend.xnnpack (or use qmode none)`);
    }
    if (config.quantization.group_size === 0 && qmode !== '8da8w') {
      issue(['quantization', 'group_size'], `0 (one scale per channel) is for qmode 8da8w; ${qmode} takes 32, 64, 128 or 256`);
    }
    if (config.quantization.smooth_alpha !== undefined && !DYNAMIC_QMODES.includes(qmode)) {
      issue(['quantization', 'smooth_alpha'], `smooths the activations that 8da4w and 8da8w quantize; ${qmode} does not quantize them`);
    } else if (config.quantization.smooth_alpha !== undefined && exportFamily(config.base.model_class) !== 'llama') {
      issue(['quantization', 'smooth_alpha'], `is implemented for the Llama family (${EXPORT_FAMILIES.llama.join(', ')}), not ${config.base.model_class}`);
    }
    if (backends.qnn.enabled && config.quantization.qmode !== 'none') {
      issue(['quantization', 'qmode'], 'QNN quantizes with its own PT2E scheme: use qmode none with backend.qnn');
    }
    // ExecuTorch's exporter takes its XNNPACK-only path whenever XNNPACK is on (8da4w turns it on):
    // the Vulkan partitioner would never run and the .pte would have no Vulkan delegate.
    if (backends.vulkan.enabled && backends.xnnpack.enabled) {
      issue(['backend', 'xnnpack', 'enabled'], 'must be false with backend.vulkan: the exporter lowers to XNNPACK alone when it is on, and Vulkan is ignored (ops Vulkan does not take run on the portable kernels)');
    } else if (backends.vulkan.enabled && DYNAMIC_QMODES.includes(qmode)) {
      issue(['quantization', 'qmode'], `${qmode} turns XNNPACK on, and the exporter then ignores Vulkan: use qmode none with backend.vulkan`);
    }
    if (backends.qnn.enabled && backends.vulkan.enabled) {
      issue(['backend'], 'choose one accelerator per artifact: qnn or vulkan, not both');
    }
  });

export type ExportConfigInput = z.input<typeof exportConfigSchema>;
export type ExportConfig = z.output<typeof exportConfigSchema>;

/** "8da4w-g32", "8da8w-per-channel", "int8", "none", plus the embedding scheme: the manifest's quantization label. */
export function quantizationLabel(config: ExportConfig): string {
  const q = config.quantization;
  const main = DYNAMIC_QMODES.includes(q.qmode) ? `${q.qmode}-${q.group_size === 0 ? 'per-channel' : `g${q.group_size}`}` : q.qmode;
  const smoothed = q.smooth_alpha !== undefined ? `${main}, smoothed ${q.smooth_alpha}` : main;
  return q.embedding_quantize ? `${smoothed}, embedding ${q.embedding_quantize}` : smoothed;
}
