import type { FrameRing, StoredFrame } from './frame-ring';

export interface BurstOptions {
  /** Frames from before the trigger, sent first (oldest first). */
  preRoll: number;
  /** Frames after the trigger. */
  count: number;
  /** Spacing of the burst frames, ms. */
  intervalMs: number;
}

export const DEFAULT_BURST_OPTIONS: BurstOptions = { preRoll: 5, count: 5, intervalMs: 200 };

/**
 * A frame's place in its burst (`msg.burst` of each frame): `index` from 0 in
 * the order sent, and `count`, how many frames the burst will send in all. A
 * slot found empty lowers the count of the frames sent after it, so the last
 * frame sent has `index === count - 1` unless the burst's last slots stay
 * empty (a stalled camera): then no frame says it is the last one.
 */
export interface BurstPlace {
  index: number;
  count: number;
}

/** A slot waits at least this many of the camera's frame periods (a camera slower than the burst interval). */
export const SLOT_CAMERA_PERIODS = 3;
/** ... but a slot never waits longer than this for a very slow camera. */
const MAX_SLOT_MS = 1_000;

/**
 * The camera's frame period, from the spacing of the last frames in the ring
 * (median of up to 8 gaps), or undefined with fewer than two frames.
 */
export function cameraPeriodMs(ring: FrameRing): number | undefined {
  const frames = ring.recent(9);
  const gaps = frames.slice(1).map((f, i) => f.capturedAt - frames[i].capturedAt).sort((a, b) => a - b);
  return gaps.length > 0 ? gaps[Math.floor(gaps.length / 2)] : undefined;
}

export interface BurstSummary {
  preRoll: number;
  burst: number;
  /** Burst slots in which no new frame arrived (a slow or stalled camera). */
  missed: number;
}

/**
 * One trigger's frames: the pre-roll at once (synchronously, so the first
 * frame leaves within the trigger's own tick), then `count` slots opening
 * every `intervalMs` from the trigger. Each slot takes the newest frame not
 * sent yet, or the next one to arrive before the following slot opens; a slot
 * that gets none is counted as missed, so a stalled camera cannot hold the
 * burst open for longer than `count` slots. A frame is never sent twice.
 * A camera slower than the interval widens the slots to 3 of its frame
 * periods (at most 1 s), room for the jitter of a busy machine, so that its next frame still finds a slot open
 * rather than the burst ending without it. Each frame is sent with its place
 * in the burst (`BurstPlace`).
 */
export class Burst {
  private lastSeq: number;
  private slotsOpened = 0;
  private sent = 0;
  private missed = 0;
  private waiting = false;
  private timer: NodeJS.Timeout | undefined;
  private finished = false;
  private readonly preRollSent: number;
  private readonly startedAt = Date.now();
  /** Spacing of the slots: the interval, or more for a slow camera. */
  private readonly slotMs: number;
  private readonly onRingFrame = (frame: StoredFrame) => {
    if (this.waiting) {
      this.waiting = false;
      this.take(frame);
    }
  };

  constructor(
    private readonly ring: FrameRing,
    private readonly options: BurstOptions,
    private readonly onFrame: (frame: StoredFrame, preRoll: boolean, place: BurstPlace) => void,
    private readonly onDone: (summary: BurstSummary) => void,
  ) {
    const preRoll = ring.recent(options.preRoll);
    this.lastSeq = ring.latest()?.seq ?? 0;
    const period = cameraPeriodMs(ring);
    this.slotMs = Math.max(options.intervalMs, Math.min(MAX_SLOT_MS, (period ?? 0) * SLOT_CAMERA_PERIODS));
    this.preRollSent = preRoll.length;
    const count = preRoll.length + Math.max(0, options.count);
    preRoll.forEach((frame, index) => onFrame(frame, true, { index, count }));
    if (options.count <= 0) {
      this.finish();
      return;
    }
    ring.on('frame', this.onRingFrame);
    this.openSlot();
  }

  private openSlot(): void {
    if (this.finished) return;
    if (this.waiting) {
      this.waiting = false;
      this.missed++;
    }
    if (this.slotsOpened === this.options.count) {
      this.finish();
      return;
    }
    this.slotsOpened++;
    // The next slot (or, after the last one, the end of the burst) opens on schedule from the trigger.
    const nextAt = this.startedAt + this.slotsOpened * this.slotMs;
    this.timer = setTimeout(() => this.openSlot(), Math.max(0, nextAt - Date.now()));
    const latest = this.ring.latest();
    if (latest && latest.seq > this.lastSeq) this.take(latest);
    else this.waiting = true;
  }

  private take(frame: StoredFrame): void {
    this.lastSeq = frame.seq;
    const place = { index: this.preRollSent + this.sent, count: this.preRollSent + this.options.count - this.missed };
    this.sent++;
    this.onFrame(frame, false, place);
    if (this.sent + this.missed === this.options.count) this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.ring.off('frame', this.onRingFrame);
    this.onDone({ preRoll: this.preRollSent, burst: this.sent, missed: this.missed });
  }

  /** Stops the burst early (node closing); `onDone` is not called. */
  cancel(): void {
    this.finished = true;
    clearTimeout(this.timer);
    this.ring.off('frame', this.onRingFrame);
  }

  get done(): boolean {
    return this.finished;
  }
}
