import type { ModelFileBytes } from '../../core/engine-registry.js';
import { readBuffer, withModelBytes } from '../files/model-bytes.js';
import { ModelCorruptError, NotAModelFileError } from '../../core/errors.js';
import { describeForeignFile } from '../files/file-checks.js';
import { FlatBufferRangeError, Table } from './flatbuffer-table.js';
import {
  BufferField,
  ChainField,
  CompileSpecField,
  DataLocation,
  DelegateDataRefField,
  DelegateField,
  EValueField,
  EXTENDED_HEADER,
  InlineDataField,
  InstructionField,
  InstructionType,
  KernelType,
  OperatorField,
  PlanField,
  ProgramField,
  SCALAR_TYPES,
  SegmentField,
  SHAPE_DYNAMISM,
  SubsegmentField,
  TensorField,
} from './program-schema.js';

export type PteValue =
  | { kind: 'tensor'; dtype: string; shape: number[]; dynamism: string }
  | { kind: 'int'; value: number }
  | { kind: 'bool'; value: boolean }
  | { kind: 'double'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'int-list' | 'double-list' | 'bool-list'; value: Array<number | boolean> }
  | { kind: 'tensor-list' | 'optional-tensor-list' | 'null' | 'none' };

export interface PteDelegate {
  backend: string;
  /** Where the backend's compiled blob lives and how big it is. */
  dataLocation: 'inline' | 'segment';
  dataBytes: number;
  compileSpecs: string[];
}

export interface PteMethod {
  name: string;
  /** A method with no instructions only returns stored values: the exporter's metadata. */
  isConstant: boolean;
  inputs: PteValue[];
  outputs: PteValue[];
  instructions: number;
  kernelCalls: number;
  delegateCalls: number;
  operators: string[];
  delegates: PteDelegate[];
  /** Sum of the memory-planned buffers the runtime allocates for this method. */
  plannedMemoryBytes: number;
}

/** What the LLM exporter stores as constant methods. */
export interface PteLlmMetadata {
  maxSeqLen?: number;
  maxContextLen?: number;
  vocabSize?: number;
  bosId?: number;
  eosIds?: number[];
  nLayers?: number;
  useKvCache?: boolean;
  useSdpaWithKvCache?: boolean;
  enableDynamicShape?: boolean;
}

export interface PteSummary {
  format: 'pte';
  path: string;
  fileSize: number;
  fileIdentifier: string;
  schemaVersion: number;
  programBytes: number;
  segmentBaseOffset: number;
  segments: Array<{ offset: number; size: number }>;
  constantBytes: number;
  inlineDelegateBytes: number;
  namedDataKeys: number;
  methods: PteMethod[];
  backends: string[];
  operators: string[];
  metadata: Record<string, unknown>;
  llm: PteLlmMetadata;
}

const IDENTIFIER_PREFIX = 'ET';

/** True when the first bytes carry a .pte program's FlatBuffer identifier ("ET" + version at offset 4). */
export function looksLikePte(head: Uint8Array): boolean {
  const text = (from: number, to: number) => Buffer.from(head.buffer, head.byteOffset + from, to - from).toString('latin1');
  return head.length >= 8 && text(4, 6) === IDENTIFIER_PREFIX && /^\d\d$/.test(text(6, 8));
}

/** Reads an ExecuTorch program: header, FlatBuffer and segment table. No runtime, no Python. */
export function readPte(path: string): Promise<PteSummary> {
  return withModelBytes(path, readPteFrom);
}

/** readPte on a file the caller holds open (the app's one opener). */
export async function readPteFrom(file: ModelFileBytes): Promise<PteSummary> {
  const { path, size } = file;
  const head = await readBuffer(file, 0, 64);
  if (!looksLikePte(head)) {
    if (head.length < 8) throw new ModelCorruptError(path, `only ${size} bytes`);
    throw new NotAModelFileError(path, describeForeignFile(head));
  }
  const header = readExtendedHeader(head);
  const programBytes = header?.programSize ?? size;
  if (programBytes > size) throw new ModelCorruptError(path, `the program needs ${programBytes} bytes but the file has ${size}`);
  const bytes = await file.read(0, programBytes);
  try {
    return summarize(path, size, head, bytes, header?.segmentBaseOffset ?? 0);
  } catch (error) {
    if (error instanceof FlatBufferRangeError) throw new ModelCorruptError(path, `its program does not parse: ${error.message}`);
    throw error;
  }
}

function readExtendedHeader(head: Buffer): { programSize: number; segmentBaseOffset: number } | undefined {
  const at = EXTENDED_HEADER.offset;
  if (head.length < at + EXTENDED_HEADER.minimumLength) return undefined;
  if (head.subarray(at, at + 4).toString('latin1') !== EXTENDED_HEADER.magic) return undefined;
  return {
    programSize: Number(head.readBigUInt64LE(at + 8)),
    segmentBaseOffset: Number(head.readBigUInt64LE(at + 16)),
  };
}

function summarize(path: string, fileSize: number, head: Buffer, bytes: Uint8Array, segmentBaseOffset: number): PteSummary {
  const program = Table.root(bytes);
  const segments = program.tables(ProgramField.segments).map((s) => ({ offset: s.int64(SegmentField.offset), size: s.int64(SegmentField.size) }));
  for (const [index, segment] of segments.entries()) {
    const end = segmentBaseOffset + segment.offset + segment.size;
    if (end > fileSize) throw new ModelCorruptError(path, `segment ${index} ends at byte ${end} but the file has ${fileSize}`);
  }

  const methods = program.tables(ProgramField.executionPlan).map((plan) => readMethod(plan, segments));
  const metadata: Record<string, unknown> = {};
  // Whatever a metadata method returns: one value, or a list when it returns several.
  for (const method of methods.filter((m) => m.isConstant)) {
    const values = method.outputs.map(plainValue);
    metadata[method.name] = values.length === 1 ? values[0] : values;
  }

  return {
    format: 'pte',
    path,
    fileSize,
    fileIdentifier: head.subarray(4, 8).toString('latin1'),
    schemaVersion: program.uint32(ProgramField.version),
    programBytes: bytes.length,
    segmentBaseOffset,
    segments,
    constantBytes: constantBytes(program, segments),
    inlineDelegateBytes: program.tables(ProgramField.backendDelegateData).reduce((sum, d) => sum + d.vectorLength(InlineDataField.data), 0),
    namedDataKeys: program.tables(ProgramField.namedData).length,
    methods,
    backends: unique(methods.flatMap((m) => m.delegates.map((d) => d.backend))),
    operators: unique(methods.flatMap((m) => m.operators)),
    metadata,
    llm: llmMetadata(metadata),
  };
}

function readMethod(plan: Table, segments: Array<{ size: number }>): PteMethod {
  const values = plan.tables(PlanField.values);
  const valueAt = (index: number): PteValue => (values[index] ? readValue(values[index]) : { kind: 'none' });
  const instructions = plan.tables(PlanField.chains).flatMap((chain) => chain.tables(ChainField.instructions));
  const operators = plan.tables(PlanField.operators).map((op) => {
    const name = op.string(OperatorField.name) ?? '?';
    const overload = op.string(OperatorField.overload);
    return overload ? `${name}.${overload}` : name;
  });
  let kernelCalls = 0;
  let delegateCalls = 0;
  for (const instruction of instructions) {
    const type = instruction.uint8(InstructionField.argsType);
    if (type === InstructionType.KernelCall) kernelCalls++;
    if (type === InstructionType.DelegateCall) delegateCalls++;
  }
  const plannedSizes = plan.int64s(PlanField.nonConstBufferSizes);
  return {
    name: plan.string(PlanField.name) ?? '',
    isConstant: instructions.length === 0,
    inputs: plan.int32s(PlanField.inputs).map(valueAt),
    outputs: plan.int32s(PlanField.outputs).map(valueAt),
    instructions: instructions.length,
    kernelCalls,
    delegateCalls,
    operators,
    delegates: plan.tables(PlanField.delegates).map((d) => readDelegate(d, segments)),
    // Buffer 0 is reserved by the memory planner and always 0.
    plannedMemoryBytes: plannedSizes.slice(1).reduce((a, b) => a + b, 0),
  };
}

function readDelegate(delegate: Table, segments: Array<{ size: number }>): PteDelegate {
  const processed = delegate.table(DelegateField.processed);
  const location = processed?.uint8(DelegateDataRefField.location) === DataLocation.Segment ? 'segment' : 'inline';
  const index = processed?.uint32(DelegateDataRefField.index) ?? 0;
  return {
    backend: delegate.string(DelegateField.id) ?? '?',
    dataLocation: location,
    dataBytes: location === 'segment' ? (segments[index]?.size ?? 0) : 0,
    compileSpecs: delegate.tables(DelegateField.compileSpecs).map((spec) => spec.string(CompileSpecField.key) ?? '?'),
  };
}

function readValue(evalue: Table): PteValue {
  const union = evalue.union(EValueField.val);
  if (!union) return { kind: 'none' };
  const v = union.value;
  switch (union.type) {
    case KernelType.Null:
      return { kind: 'null' };
    case KernelType.Int:
      return { kind: 'int', value: v.int64(0) };
    case KernelType.Bool:
      return { kind: 'bool', value: v.bool(0) };
    case KernelType.Double:
      return { kind: 'double', value: v.float64(0) };
    case KernelType.String:
      return { kind: 'string', value: v.string(0) ?? '' };
    case KernelType.IntList:
      return { kind: 'int-list', value: v.int64s(0) };
    case KernelType.DoubleList:
      return { kind: 'double-list', value: v.float64s(0) };
    case KernelType.BoolList:
      return { kind: 'bool-list', value: v.uint8s(0).map((b) => b !== 0) };
    case KernelType.Tensor:
      return {
        kind: 'tensor',
        dtype: SCALAR_TYPES[v.int8(TensorField.scalarType)] ?? `scalar-type-${v.int8(TensorField.scalarType)}`,
        shape: v.int32s(TensorField.sizes),
        dynamism: SHAPE_DYNAMISM[v.int8(TensorField.shapeDynamism)] ?? 'unknown',
      };
    case KernelType.TensorList:
      return { kind: 'tensor-list' };
    case KernelType.OptionalTensorList:
      return { kind: 'optional-tensor-list' };
    default:
      return { kind: 'none' };
  }
}

/** Constant weights live in one segment (current exporter) or inline buffers (older files). */
function constantBytes(program: Table, segments: Array<{ size: number }>): number {
  const constantSegment = program.table(ProgramField.constantSegment);
  if (constantSegment && constantSegment.int64s(SubsegmentField.offsets).length > 0) {
    return segments[constantSegment.uint32(SubsegmentField.segmentIndex)]?.size ?? 0;
  }
  return program.tables(ProgramField.constantBuffer).reduce((sum, b) => sum + b.vectorLength(BufferField.storage), 0);
}

/** A scalar or list as itself; a tensor as its type and shape (its values are in the constant data, which the reader does not decode). */
function plainValue(value: PteValue): unknown {
  if ('value' in value) return value.value;
  if (value.kind === 'tensor') return `${value.dtype}[${value.shape.join(', ')}] tensor`;
  return value.kind;
}

function llmMetadata(metadata: Record<string, unknown>): PteLlmMetadata {
  const num = (key: string) => (typeof metadata[key] === 'number' ? (metadata[key] as number) : undefined);
  const bool = (key: string) => (typeof metadata[key] === 'boolean' ? (metadata[key] as boolean) : undefined);
  const eos = metadata.get_eos_ids;
  return dropUndefined({
    maxSeqLen: num('get_max_seq_len'),
    maxContextLen: num('get_max_context_len'),
    vocabSize: num('get_vocab_size'),
    bosId: num('get_bos_id'),
    eosIds: Array.isArray(eos) ? (eos as number[]) : typeof eos === 'number' ? [eos] : undefined,
    nLayers: num('get_n_layers'),
    useKvCache: bool('use_kv_cache'),
    useSdpaWithKvCache: bool('use_sdpa_with_kv_cache'),
    enableDynamicShape: bool('enable_dynamic_shape'),
  });
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function unique(items: string[]): string[] {
  return [...new Set(items)].sort();
}


