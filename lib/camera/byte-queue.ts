/**
 * Bytes received but not yet consumed, kept contiguous so they can be
 * searched with `indexOf`. Chunks are copied into one growing buffer, so a
 * frame arriving in hundreds of small TCP segments costs one copy per byte,
 * not one per segment (which `Buffer.concat` on every chunk would).
 */
export class ByteQueue {
  private buf: Buffer;
  private start = 0;
  private end = 0;

  constructor(private readonly initialCapacity = 256 * 1024) {
    this.buf = Buffer.allocUnsafe(initialCapacity);
  }

  append(chunk: Uint8Array): void {
    if (this.end + chunk.length > this.buf.length) {
      const held = this.end - this.start;
      const needed = held + chunk.length;
      if (needed <= this.buf.length / 2) {
        this.buf.copyWithin(0, this.start, this.end); // room enough once the consumed bytes are dropped
      } else {
        const bigger = Buffer.allocUnsafe(Math.max(needed * 2, this.buf.length * 2));
        this.buf.copy(bigger, 0, this.start, this.end);
        this.buf = bigger;
      }
      this.start = 0;
      this.end = held;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** The unconsumed bytes; valid until the next `append`. Copy what must outlive that. */
  get bytes(): Buffer {
    return this.buf.subarray(this.start, this.end);
  }

  get length(): number {
    return this.end - this.start;
  }

  consume(count: number): void {
    this.start = Math.min(this.end, this.start + count);
    if (this.start === this.end) {
      this.start = this.end = 0;
      // After an oversized frame, give the memory back.
      if (this.buf.length > 4 * this.initialCapacity) this.buf = Buffer.allocUnsafe(this.initialCapacity);
    }
  }

  clear(): void {
    this.consume(this.length);
  }
}
