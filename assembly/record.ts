// A compact record the core writes for JavaScript to read through a typed-array view: one per
// call, no per-field calls across the boundary. Layouts are generated from data/records/.

export class Record {
  readonly base: usize;
  private errorBytes: ArrayBuffer = new ArrayBuffer(0);
  private textBytes: ArrayBuffer = new ArrayBuffer(0);

  constructor(private readonly size: u32) {
    this.base = heap.alloc(<usize>size);
  }

  clear(): void {
    memory.fill(this.base, 0, <usize>this.size);
  }

  u32(field: u32, value: u32): void {
    store<u32>(this.base + <usize>field, value);
  }

  u64(field: u32, value: u64): void {
    store<u64>(this.base + <usize>field, value);
  }

  /** A string field: (offset, length), the offset relative to whatever the field documents. */
  str(field: u32, offset: u64, length: u64): void {
    store<u32>(this.base + <usize>field, <u32>offset);
    store<u32>(this.base + <usize>field + 4, <u32>length);
  }

  absent(field: u32): void {
    store<u32>(this.base + <usize>field, 0xffffffff);
    store<u32>(this.base + <usize>field + 4, 0);
  }

  /** A second text field (absolute address), kept like the error until the next record. */
  text(field: u32, value: string): void {
    this.textBytes = String.UTF8.encode(value);
    this.str(field, <u64>changetype<usize>(this.textBytes), <u64>this.textBytes.byteLength);
  }

  /** The UTF-8 message goes into memory the record points at; it lives until the next record. */
  error(field: u32, text: string): void {
    this.errorBytes = String.UTF8.encode(text);
    this.str(field, <u64>changetype<usize>(this.errorBytes), <u64>this.errorBytes.byteLength);
  }
}
