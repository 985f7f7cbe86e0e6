import { ByteBuffer } from 'flatbuffers';

/** Thrown when an offset points outside the buffer: the file is truncated or not a FlatBuffer. */
export class FlatBufferRangeError extends Error {}

/**
 * Read access to one FlatBuffer table, by field index, with every offset
 * checked against the buffer. The `flatbuffers` runtime reads past the end
 * as zeros; a truncated file must fail instead of inventing values.
 */
export class Table {
  constructor(
    readonly bb: ByteBuffer,
    readonly pos: number,
  ) {
    check(bb, pos, 4);
    const vtable = pos - bb.readInt32(pos);
    check(bb, vtable, 4);
  }

  static root(bytes: Uint8Array): Table {
    const bb = new ByteBuffer(bytes);
    check(bb, 0, 4);
    return new Table(bb, bb.readUint32(0));
  }

  /** Byte offset of a field's slot inside the table, or 0 when the field is absent. */
  private slot(field: number): number {
    const vtable = this.pos - this.bb.readInt32(this.pos);
    const vtableSize = this.bb.readUint16(vtable);
    const entry = 4 + field * 2;
    if (entry >= vtableSize) return 0;
    check(this.bb, vtable + entry, 2);
    const offset = this.bb.readUint16(vtable + entry);
    if (offset !== 0) check(this.bb, this.pos + offset, 1);
    return offset;
  }

  has(field: number): boolean {
    return this.slot(field) !== 0;
  }

  uint8(field: number, fallback = 0): number {
    const o = this.slot(field);
    return o ? this.bb.readUint8(this.pos + o) : fallback;
  }

  int8(field: number, fallback = 0): number {
    const o = this.slot(field);
    return o ? this.bb.readInt8(this.pos + o) : fallback;
  }

  bool(field: number): boolean {
    return this.uint8(field) !== 0;
  }

  int32(field: number, fallback = 0): number {
    const o = this.slot(field);
    if (!o) return fallback;
    check(this.bb, this.pos + o, 4);
    return this.bb.readInt32(this.pos + o);
  }

  uint32(field: number, fallback = 0): number {
    const o = this.slot(field);
    if (!o) return fallback;
    check(this.bb, this.pos + o, 4);
    return this.bb.readUint32(this.pos + o);
  }

  /** 64-bit integers as numbers; file offsets and sizes stay far below 2^53. */
  int64(field: number, fallback = 0): number {
    const o = this.slot(field);
    if (!o) return fallback;
    check(this.bb, this.pos + o, 8);
    return Number(this.bb.readInt64(this.pos + o));
  }

  float64(field: number, fallback = 0): number {
    const o = this.slot(field);
    if (!o) return fallback;
    check(this.bb, this.pos + o, 8);
    return this.bb.readFloat64(this.pos + o);
  }

  string(field: number): string | undefined {
    const o = this.slot(field);
    if (!o) return undefined;
    const start = this.indirect(this.pos + o);
    check(this.bb, start, 4 + this.bb.readUint32(start));
    return this.bb.__string(this.pos + o) as string;
  }

  table(field: number): Table | undefined {
    const o = this.slot(field);
    return o ? new Table(this.bb, this.indirect(this.pos + o)) : undefined;
  }

  /** A union's value table; its type tag is the field before it. */
  union(field: number): { type: number; value: Table } | undefined {
    const type = this.uint8(field - 1);
    const value = this.table(field);
    return type && value ? { type, value } : undefined;
  }

  tables(field: number): Table[] {
    return this.vector(field, 4, (at) => new Table(this.bb, this.indirect(at)));
  }

  int32s(field: number): number[] {
    return this.vector(field, 4, (at) => this.bb.readInt32(at));
  }

  int64s(field: number): number[] {
    return this.vector(field, 8, (at) => Number(this.bb.readInt64(at)));
  }

  float64s(field: number): number[] {
    return this.vector(field, 8, (at) => this.bb.readFloat64(at));
  }

  uint8s(field: number): number[] {
    return this.vector(field, 1, (at) => this.bb.readUint8(at));
  }

  /** Length of a vector field without reading its elements (for byte blobs). */
  vectorLength(field: number): number {
    const o = this.slot(field);
    if (!o) return 0;
    const start = this.indirect(this.pos + o);
    check(this.bb, start, 4);
    return this.bb.readUint32(start);
  }

  private vector<T>(field: number, elementSize: number, read: (at: number) => T): T[] {
    const o = this.slot(field);
    if (!o) return [];
    const start = this.indirect(this.pos + o);
    check(this.bb, start, 4);
    const length = this.bb.readUint32(start);
    check(this.bb, start + 4, length * elementSize);
    const items: T[] = [];
    for (let i = 0; i < length; i++) items.push(read(start + 4 + i * elementSize));
    return items;
  }

  private indirect(at: number): number {
    check(this.bb, at, 4);
    const target = at + this.bb.readUint32(at);
    check(this.bb, target, 1);
    return target;
  }
}

function check(bb: ByteBuffer, offset: number, length: number): void {
  if (offset < 0 || length < 0 || offset + length > bb.capacity()) {
    throw new FlatBufferRangeError(`offset ${offset}+${length} is outside the ${bb.capacity()}-byte program`);
  }
}
