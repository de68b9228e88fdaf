// A stream read as a queue of bytes: the reader asks for the next n bytes and gets them as views
// of the chunks the stream produced (no copy), or as one contiguous buffer (a copy only when they
// straddle two chunks). What the reader has consumed is counted, for messages that name an offset.
export class ByteQueue {
  private readonly chunks: Buffer[] = [];
  /** Offset of the first unconsumed byte in chunks[0]. */
  private head = 0;
  private buffered = 0;
  private ended = false;
  private readonly source: AsyncIterator<Buffer>;
  /** Bytes consumed so far. */
  position = 0;

  constructor(stream: AsyncIterable<Buffer>) {
    this.source = stream[Symbol.asyncIterator]();
  }

  /** Buffers at least `n` bytes, unless the stream ends first; returns how many are buffered. */
  async fill(n: number): Promise<number> {
    while (this.buffered < n && !this.ended) {
      const next = await this.source.next();
      if (next.done) this.ended = true;
      else if (next.value.length > 0) {
        this.chunks.push(next.value);
        this.buffered += next.value.length;
      }
    }
    return this.buffered;
  }

  /** Buffered bytes, without waiting for more. */
  get available(): number {
    return this.buffered;
  }

  /** The next `n` buffered bytes as one buffer (a view when they lie in one chunk), consumed. */
  take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) {
      const view = first.subarray(this.head, this.head + n);
      this.consume(n);
      return view;
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    for (const slice of this.slices(n)) {
      slice.copy(out, at);
      at += slice.length;
    }
    return out;
  }

  /** The next `n` buffered bytes as views of the chunks, consumed. */
  slices(n: number): Buffer[] {
    const out: Buffer[] = [];
    let left = n;
    while (left > 0) {
      const chunk = this.chunks[0]!;
      const size = Math.min(left, chunk.length - this.head);
      out.push(chunk.subarray(this.head, this.head + size));
      this.consume(size);
      left -= size;
    }
    return out;
  }

  /** The next `n` buffered bytes, or fewer, as views of what is buffered now, consumed: at least one byte when any is buffered. */
  takeSome(n: number): Buffer[] {
    return this.slices(Math.min(n, this.buffered));
  }

  private consume(n: number): void {
    this.head += n;
    this.buffered -= n;
    this.position += n;
    while (this.chunks.length > 0 && this.head >= this.chunks[0]!.length) {
      this.head -= this.chunks[0]!.length;
      this.chunks.shift();
    }
  }
}
