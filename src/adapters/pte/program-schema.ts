/**
 * Field indices and enums of ExecuTorch's program schema (schema/program.fbs,
 * file identifier "ET12"). A field's index is its position in the table
 * declaration; a union takes two: its type tag, then its value.
 */

export const ProgramField = {
  version: 0,
  executionPlan: 1,
  constantBuffer: 2,
  backendDelegateData: 3,
  segments: 4,
  constantSegment: 5,
  mutableDataSegments: 6,
  namedData: 7,
} as const;

export const PlanField = {
  name: 0,
  containerMetaType: 1,
  values: 2,
  inputs: 3,
  outputs: 4,
  chains: 5,
  operators: 6,
  delegates: 7,
  nonConstBufferSizes: 8,
} as const;

export const ChainField = { inputs: 0, outputs: 1, instructions: 2 } as const;
export const InstructionField = { argsType: 0, args: 1 } as const;
export const OperatorField = { name: 0, overload: 1 } as const;
export const DelegateField = { id: 0, processed: 1, compileSpecs: 2 } as const;
export const DelegateDataRefField = { location: 0, index: 1 } as const;
export const CompileSpecField = { key: 0, value: 1 } as const;
export const SegmentField = { offset: 0, size: 1 } as const;
export const SubsegmentField = { segmentIndex: 0, offsets: 1 } as const;
export const BufferField = { storage: 0 } as const;
export const InlineDataField = { data: 0 } as const;
export const EValueField = { valType: 0, val: 1 } as const;
export const ScalarValueField = { value: 0 } as const;
export const TensorField = { scalarType: 0, sizes: 2, dataBufferIdx: 5, allocationInfo: 6, shapeDynamism: 8 } as const;

/** Tags of the KernelTypes union (0 is NONE). */
export const KernelType = {
  Null: 1,
  Int: 2,
  Bool: 3,
  Double: 4,
  Tensor: 5,
  String: 6,
  IntList: 7,
  DoubleList: 8,
  BoolList: 9,
  TensorList: 10,
  OptionalTensorList: 11,
} as const;

/** Tags of the InstructionArguments union. */
export const InstructionType = { KernelCall: 1, DelegateCall: 2, MoveCall: 3, JumpFalseCall: 4, FreeCall: 5 } as const;

export const DataLocation = { Inline: 0, Segment: 1 } as const;

export const SCALAR_TYPES: Record<number, string> = {
  0: 'uint8',
  1: 'int8',
  2: 'int16',
  3: 'int32',
  4: 'int64',
  5: 'float16',
  6: 'float32',
  7: 'float64',
  11: 'bool',
  12: 'qint8',
  13: 'quint8',
  14: 'qint32',
  15: 'bfloat16',
  16: 'quint4x2',
  17: 'quint2x4',
  22: 'bits16',
  23: 'float8_e5m2',
  24: 'float8_e4m3fn',
  25: 'float8_e5m2fnuz',
  26: 'float8_e4m3fnuz',
  27: 'uint16',
  28: 'uint32',
  29: 'uint64',
};

export const SHAPE_DYNAMISM = ['static', 'dynamic-bound', 'dynamic-unbound'] as const;

/** The extended header sits right after the FlatBuffer root offset and file identifier. */
export const EXTENDED_HEADER = { offset: 8, magic: 'eh00', minimumLength: 24 } as const;
