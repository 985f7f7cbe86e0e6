/**
 * Chat templates for models that carry none (base models, some repacks),
 * picked as node-llama-cpp's chat wrappers are: by the special tokens the
 * vocabulary has, then by architecture, else a plain-text format. Each lists
 * the text that marks a turn, which the runner stops at, so a model that
 * starts another turn never shows its control text as answer text.
 */
export type FallbackFamily = 'llama3' | 'chatml' | 'gemma' | 'phi3' | 'mistral' | 'plain';

export interface FallbackTemplate {
  family: FallbackFamily;
  /** Jinja, in the variables Hugging Face templates take (messages, add_generation_prompt, eos_token). */
  source: string;
  /** Where an answer must end: the start or end of a turn, as text. */
  stopStrings: readonly string[];
}

const TEMPLATES: Record<FallbackFamily, Omit<FallbackTemplate, 'family'> & { tokens: readonly string[] }> = {
  llama3: {
    tokens: ['<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'],
    source:
      "{% for m in messages %}{{ '<|start_header_id|>' + m.role + '<|end_header_id|>\\n\\n' + m.content + '<|eot_id|>' }}{% endfor %}" +
      "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}",
    stopStrings: ['<|eot_id|>', '<|start_header_id|>'],
  },
  chatml: {
    tokens: ['<|im_start|>', '<|im_end|>'],
    source:
      "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}" +
      "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
    stopStrings: ['<|im_end|>', '<|im_start|>'],
  },
  gemma: {
    // Gemma has no system role: the system text opens the first user turn.
    tokens: ['<start_of_turn>', '<end_of_turn>'],
    source:
      "{% for m in messages %}{% if m.role == 'assistant' %}{{ '<start_of_turn>model\\n' + m.content + '<end_of_turn>\\n' }}" +
      "{% else %}{{ '<start_of_turn>user\\n' + m.content + '<end_of_turn>\\n' }}{% endif %}{% endfor %}" +
      "{% if add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}",
    stopStrings: ['<end_of_turn>', '<start_of_turn>'],
  },
  phi3: {
    tokens: ['<|user|>', '<|assistant|>', '<|end|>'],
    source: "{% for m in messages %}{{ '<|' + m.role + '|>\\n' + m.content + '<|end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}",
    stopStrings: ['<|end|>', '<|user|>', '<|assistant|>', '<|system|>'],
  },
  mistral: {
    tokens: ['[INST]', '[/INST]'],
    source:
      "{% for m in messages %}{% if m.role == 'assistant' %}{{ ' ' + m.content + eos_token }}" +
      "{% else %}{{ '[INST] ' + m.content + ' [/INST]' }}{% endif %}{% endfor %}",
    stopStrings: ['[INST]', '[/INST]'],
  },
  plain: {
    tokens: [],
    source:
      "{% for m in messages %}{% if m.role == 'system' %}{{ m.content + '\\n\\n' }}{% elif m.role == 'user' %}{{ 'User: ' + m.content + '\\n' }}" +
      "{% else %}{{ 'Assistant: ' + m.content + '\\n' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}",
    stopStrings: ['\nUser:', '\nAssistant:'],
  },
};

/** Families whose turn tokens the vocabulary has, most specific first. */
const BY_TOKENS: readonly FallbackFamily[] = ['llama3', 'chatml', 'gemma', 'phi3', 'mistral'];
/** Architectures whose format is known even when its markers are plain text in the vocabulary. */
const BY_ARCHITECTURE: ReadonlyArray<[RegExp, FallbackFamily]> = [
  [/^gemma/, 'gemma'],
  [/^phi3/, 'phi3'],
  [/^qwen/, 'chatml'],
  [/^mistral/, 'mistral'],
];

/**
 * The template for a model without one: the family whose turn tokens are all
 * single special tokens of its vocabulary (`isSpecialToken`), else the one its
 * architecture names, else plain text.
 */
export function pickFallbackTemplate(architecture: string, isSpecialToken: (text: string) => boolean): FallbackTemplate {
  const family = BY_TOKENS.find((name) => TEMPLATES[name].tokens.every(isSpecialToken)) ?? BY_ARCHITECTURE.find(([pattern]) => pattern.test(architecture))?.[1] ?? 'plain';
  const { source, stopStrings } = TEMPLATES[family];
  return { family, source, stopStrings };
}
