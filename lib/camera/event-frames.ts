import { PorchlightError } from '../errors';
import { type DoorbellEvent, ensureEvent } from '../events/event';
import { Burst, type BurstOptions, type BurstPlace, type BurstSummary } from './burst';
import type { FrameRing, StoredFrame } from './frame-ring';
import { startsWithSoi } from './jpeg';

/** `msg.frame`: where a frame sits in the camera's stream and in its event. */
export interface FrameInfo {
  seq: number;
  capturedAt: number;
  width: number;
  height: number;
  preRoll: boolean;
  /** Position among this event's frames, from 0. */
  index: number;
}

/** What a frame-buffer reads of an input message. */
export interface FrameBufferInput {
  topic?: string;
  payload?: unknown;
  event?: unknown;
}

export const MAX_CONCURRENT_BURSTS = 8;

/**
 * A frame in a message for a buffer fed by messages: a JPEG Buffer is a frame
 * (returned); a Buffer that is not a JPEG is a broken frame (NOT_AN_IMAGE);
 * anything else (and any message with topic "trigger" or an `event`) is a
 * trigger (undefined), so that gpio-doorbell's msg.event, topic "trigger" and
 * a plain rpi-gpio in message all work.
 */
export function frameIn(msg: FrameBufferInput, fedByMessages: boolean): Buffer | undefined {
  const { payload } = msg;
  const isTrigger = msg.topic === 'trigger' || msg.event !== undefined;
  if (!fedByMessages || !Buffer.isBuffer(payload) || isTrigger) return undefined;
  if (startsWithSoi(payload)) return payload;
  throw new PorchlightError('NOT_AN_IMAGE', `frame-buffer: msg.payload is ${payload.length} bytes but not a JPEG; frames must be JPEG Buffers`);
}

export interface EventFramesOptions {
  burst: BurstOptions;
  /** All of an event's frames in one message (`payload` an array, `frames`) rather than one message a frame. */
  oneMessage: boolean;
  /** The node's id, the source of an event this buffer starts. */
  node: string;
  /** Why a trigger found no frame (the camera's problem), for the error. */
  whyNoFrames: () => string;
}

/**
 * The frames of each trigger: the pre-roll and the burst after it (lib/camera/burst.ts),
 * sent as one message a frame (with `msg.frame` and its place `msg.burst`) or
 * one message an event. One burst per event at a time, at most MAX_CONCURRENT_BURSTS.
 */
export class EventFrames {
  private readonly bursts = new Map<string, Burst>();

  constructor(
    private readonly ring: FrameRing,
    private readonly options: EventFramesOptions,
  ) {}

  /**
   * Starts the burst of one trigger. `done()` when its frames are sent (at
   * once for a repeated trigger of an event whose burst is running),
   * `done(err)` when the trigger is refused (QUEUE_FULL) or found no frame (BAD_INPUT).
   */
  trigger(msg: FrameBufferInput, send: (msg: object) => void, done: (err?: Error) => void): void {
    const event = ensureEvent(msg.event, 'frame-buffer', { node: this.options.node });
    if (this.bursts.has(event.id)) {
      done(); // this event's burst is already running: a repeated trigger adds nothing
      return;
    }
    if (this.bursts.size >= MAX_CONCURRENT_BURSTS) {
      done(new PorchlightError('QUEUE_FULL', `frame-buffer: ${this.bursts.size} bursts already running; trigger for event ${event.id} dropped`));
      return;
    }
    const collected: { jpeg: Buffer; frame: FrameInfo }[] = [];
    const emit = (stored: StoredFrame, preRoll: boolean, place: BurstPlace) => {
      const frame: FrameInfo = { seq: stored.seq, capturedAt: stored.capturedAt, width: stored.width, height: stored.height, preRoll, index: place.index };
      if (this.options.oneMessage) collected.push({ jpeg: stored.jpeg, frame });
      else send({ topic: msg.topic, payload: stored.jpeg, event, frame, burst: place });
    };
    const finished = (summary: BurstSummary) => {
      this.bursts.delete(event.id);
      this.finish(msg.topic, event, summary, collected, send, done);
    };
    const burst = new Burst(this.ring, this.options.burst, emit, finished);
    if (!burst.done) this.bursts.set(event.id, burst);
  }

  private finish(topic: string | undefined, event: DoorbellEvent, summary: BurstSummary, collected: { jpeg: Buffer; frame: FrameInfo }[], send: (msg: object) => void, done: (err?: Error) => void): void {
    if (summary.preRoll + summary.burst === 0) {
      done(new PorchlightError('BAD_INPUT', `frame-buffer: no frame to send for event ${event.id} (${this.options.whyNoFrames()})`));
      return;
    }
    if (this.options.oneMessage) send({ topic, payload: collected.map((c) => c.jpeg), frames: collected.map((c) => c.frame), event, burst: summary });
    done();
  }

  /** Stops every running burst (the node closing): their `done` is not called. */
  cancelAll(): void {
    for (const burst of this.bursts.values()) burst.cancel();
    this.bursts.clear();
  }

  get running(): number {
    return this.bursts.size;
  }
}
