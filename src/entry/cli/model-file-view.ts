import type { GgufSummary, ModelFileSummary, PteSummary, PteValue } from '../../app/model-files.js';
import { formatBytes } from './format.js';

export type Rows = Array<[string, string]>;

export function formatRows(rows: Rows): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`;
}

/** A model file's rows: its engine's reading of the header, laid out for GGUF and .pte, else field by field. */
export function fileRows(file: ModelFileSummary): Rows {
  return [...formatRowsOf(file), ...encryptionRows(file)];
}

function formatRowsOf(file: ModelFileSummary): Rows {
  if (file.format === 'gguf') return ggufRows(file as unknown as GgufSummary);
  if (file.format === 'pte') return pteRows(file as unknown as PteSummary);
  return Object.entries(file).map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]);
}

/** An encrypted file: the rows above are its plaintext's, read through the model key. */
function encryptionRows(file: ModelFileSummary): Rows {
  const encryption = file.encryption as { format: string; cipher: string; chunkBytes: number; plaintextSha256: string } | undefined;
  if (!encryption) return [];
  return [['encrypted', `${encryption.cipher}, ${encryption.format}, ${formatBytes(encryption.chunkBytes)} chunks; plaintext sha256 ${encryption.plaintextSha256}`]];
}

function ggufRows(gguf: GgufSummary): Rows {
  return [
    ['file', `${gguf.path} (${formatBytes(gguf.fileSize)})`],
    ['format', `GGUF v${gguf.version}`],
    ['name', gguf.name ?? '-'],
    ['architecture', gguf.architecture],
    ['quantization', `${gguf.quantization} (${Object.entries(gguf.tensorTypes).map(([t, n]) => `${n} ${t}`).join(', ')})`],
    ['tensors', `${gguf.tensorCount}, ${formatBytes(gguf.tensorBytes)}`],
    ['context length', String(gguf.contextLength)],
    ['layers', String(gguf.layers)],
    ['tokenizer', `${gguf.tokenizerModel}, ${gguf.vocabularySize} tokens`],
    ['special tokens', Object.entries(gguf.specialTokens).map(([k, v]) => `${k}=${v.id} ${JSON.stringify(v.text)}`).join(', ')],
    ['chat template', gguf.chatTemplate ? 'yes (from the model metadata)' : 'no (ChatML is used as a fallback)'],
  ];
}

function pteRows(pte: PteSummary): Rows {
  const rows: Rows = [
    ['file', `${pte.path} (${formatBytes(pte.fileSize)})`],
    ['format', `ExecuTorch program ${pte.fileIdentifier}, schema version ${pte.schemaVersion}`],
    ['program', `${formatBytes(pte.programBytes)} FlatBuffer; ${pte.segments.length} segment(s) from byte ${pte.segmentBaseOffset}, ${formatBytes(pte.segments.reduce((sum, s) => sum + s.size, 0))} in all`],
    ['named data', pte.namedDataKeys > 0 ? `${pte.namedDataKeys} entries (data the delegates load by key)` : 'none'],
    ['constants', pte.constantBytes > 0 ? formatBytes(pte.constantBytes) : pte.backends.length > 0 && pte.namedDataKeys === 0 ? 'none (the weights are inside the delegate blobs)' : 'none'],
    ['backends', pte.backends.join(', ') || 'none (portable kernels only)'],
  ];
  const llm = pte.llm;
  if (Object.keys(llm).length > 0) {
    rows.push(['llm', [
      llm.maxSeqLen !== undefined ? `max seq ${llm.maxSeqLen}` : '',
      llm.maxContextLen !== undefined ? `max context ${llm.maxContextLen}` : '',
      llm.vocabSize !== undefined ? `vocabulary ${llm.vocabSize}` : '',
      llm.nLayers !== undefined ? `${llm.nLayers} layers` : '',
      llm.bosId !== undefined ? `BOS ${llm.bosId}` : '',
      llm.eosIds ? `EOS ${llm.eosIds.join(',')}` : '',
      llm.useKvCache !== undefined ? `KV cache ${yesNo(llm.useKvCache)}` : '',
      llm.useSdpaWithKvCache !== undefined ? `SDPA ${yesNo(llm.useSdpaWithKvCache)}` : '',
      llm.enableDynamicShape !== undefined ? `dynamic shape ${yesNo(llm.enableDynamicShape)}` : '',
    ].filter(Boolean).join(', ')]);
  }
  for (const method of pte.methods.filter((m) => !m.isConstant)) {
    rows.push([`method ${method.name}`, `${method.instructions} instructions (${method.delegateCalls} delegate, ${method.kernelCalls} kernel), planned memory ${formatBytes(method.plannedMemoryBytes)}`]);
    rows.push(['  inputs', method.inputs.map(describeValue).join('; ')]);
    rows.push(['  outputs', method.outputs.map(describeValue).join('; ')]);
    rows.push(['  delegates', groupDelegates(method.delegates) || 'none']);
    rows.push(['  operators', method.operators.join(', ') || 'none']);
  }
  const constant = pte.methods.filter((m) => m.isConstant);
  if (constant.length > 0) rows.push(['metadata', constant.map((m) => `${m.name}=${JSON.stringify(pte.metadata[m.name])}`).join(', ')]);
  return rows;
}

/** "XnnpackBackend x304 (1.2 MiB)": one entry per backend, however many partitions it got. */
function groupDelegates(delegates: PteSummary['methods'][number]['delegates']): string {
  const groups = new Map<string, { count: number; bytes: number }>();
  for (const d of delegates) {
    const group = groups.get(d.backend) ?? { count: 0, bytes: 0 };
    group.count++;
    group.bytes += d.dataBytes;
    groups.set(d.backend, group);
  }
  return [...groups].map(([backend, g]) => `${backend} x${g.count} (${formatBytes(g.bytes)} of delegate data)`).join(', ');
}

function describeValue(value: PteValue): string {
  if (value.kind === 'tensor') return `${value.dtype}[${value.shape.join(', ')}]${value.dynamism === 'static' ? '' : ` (${value.dynamism})`}`;
  if ('value' in value) return `${value.kind} ${JSON.stringify(value.value)}`;
  return value.kind;
}

function yesNo(value: boolean): string {
  return value ? 'yes' : 'no';
}
