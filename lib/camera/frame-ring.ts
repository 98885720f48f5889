import { EventEmitter } from 'node:events';
import { jpegSize } from './jpeg';
import { PorchlightError } from '../errors';

/** A frame as stored: the encoded JPEG exactly as received, never decoded. */
export interface StoredFrame {
  seq: number;
  /** Wall-clock ms when the frame arrived. */
  capturedAt: number;
  jpeg: Buffer;
  /** From the JPEG's SOF header (0 when the header has none). */
  width: number;
  height: number;
}

export interface FrameRingOptions {
  maxFrames: number;
  maxBytes: number;
}

export const DEFAULT_RING_OPTIONS: FrameRingOptions = { maxFrames: 45, maxBytes: 50 * 1024 * 1024 };

interface FrameRingEvents {
  frame: [StoredFrame];
}

/**
 * The most recent frames, bounded both by count and by total bytes: the
 * oldest frames go first when either bound is passed. Emits `frame` for each
 * frame stored, which is how bursts and live views follow the camera.
 */
export class FrameRing extends EventEmitter<FrameRingEvents> {
  private readonly slots: (StoredFrame | undefined)[];
  private head = 0; // index of the oldest frame
  private count = 0;
  private totalBytes = 0;
  private nextSeq = 1;
  /** Frames refused because one alone is larger than the byte budget. */
  oversized = 0;

  constructor(readonly options: FrameRingOptions = DEFAULT_RING_OPTIONS) {
    super();
    if (!(options.maxFrames >= 1) || !(options.maxBytes >= 1)) throw new PorchlightError('BAD_CONFIG', 'a frame ring needs room for at least one frame');
    this.slots = new Array(Math.floor(options.maxFrames));
  }

  /** Stores a JPEG; returns the stored frame, or undefined when it alone exceeds the byte budget. */
  push(jpeg: Buffer, capturedAt = Date.now()): StoredFrame | undefined {
    if (jpeg.length > this.options.maxBytes) {
      this.oversized++;
      return undefined;
    }
    while (this.count > 0 && (this.count >= this.slots.length || this.totalBytes + jpeg.length > this.options.maxBytes)) {
      this.dropOldest();
    }
    const size = jpegSize(jpeg);
    const frame: StoredFrame = { seq: this.nextSeq++, capturedAt, jpeg, width: size?.width ?? 0, height: size?.height ?? 0 };
    this.slots[(this.head + this.count) % this.slots.length] = frame;
    this.count++;
    this.totalBytes += jpeg.length;
    this.emit('frame', frame);
    return frame;
  }

  private dropOldest(): void {
    const oldest = this.slots[this.head]!;
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) % this.slots.length;
    this.count--;
    this.totalBytes -= oldest.jpeg.length;
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  latest(): StoredFrame | undefined {
    return this.count ? this.slots[(this.head + this.count - 1) % this.slots.length] : undefined;
  }

  /** The last `n` frames, oldest first. */
  recent(n: number): StoredFrame[] {
    const take = Math.max(0, Math.min(n, this.count));
    const out: StoredFrame[] = [];
    for (let i = this.count - take; i < this.count; i++) out.push(this.slots[(this.head + i) % this.slots.length]!);
    return out;
  }

  clear(): void {
    while (this.count > 0) this.dropOldest();
  }
}
