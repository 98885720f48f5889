import { PorchlightError } from '../errors';
import type { StatusWords } from '../events/status-words';
import { conciseOr } from '../events/status-words';
import type { FrameRing } from './frame-ring';
import type { HttpCredentials } from './http';
import { MjpegHttpSource } from './mjpeg-source';
import { DEFAULT_RPICAM_SIZE, ffmpegSource, rpicamSource } from './process-source';
import { SnapshotSource } from './snapshot-source';
import type { FrameSource, SourceState } from './source';

/** Where a frame-buffer's frames come from: messages, or one of the camera kinds. */
export type SourceKind = 'msg' | 'mjpeg' | 'snapshot' | 'ffmpeg' | 'rpicam';
export const SOURCE_KINDS: readonly SourceKind[] = ['msg', 'mjpeg', 'snapshot', 'ffmpeg', 'rpicam'];

/** A camera's settings, read from the edit dialog (numbers with their defaults applied). */
export interface CameraSettings {
  kind?: string;
  url?: string;
  input?: string;
  credentials?: HttpCredentials;
  fps: number;
  /** ffmpeg's output width (0: the camera's own); rpicam-vid's, when at least 64. */
  width: number;
  /** rpicam-vid's height. */
  height: number;
  snapshotIntervalMs: number;
  staleAfterMs: number;
}

/** True when frames arrive as messages (no camera source of the node's own). */
export function fedByMessages(kind: string | undefined): boolean {
  return !kind || kind === 'msg';
}

/** The configured camera, or undefined for frames arriving as messages. Throws BAD_INPUT on a missing URL or input. */
export function createFrameSource(settings: CameraSettings): FrameSource | undefined {
  const { kind, fps, staleAfterMs, credentials = {} } = settings;
  const url = String(settings.url ?? '').trim();
  const input = String(settings.input ?? '').trim();
  if ((kind === 'mjpeg' || kind === 'snapshot') && !url) throw new PorchlightError('BAD_INPUT', 'set the camera URL');
  if (kind === 'ffmpeg' && !input) throw new PorchlightError('BAD_INPUT', 'set the ffmpeg input (rtsp://..., /dev/video0 or a file)');
  switch (kind) {
    case 'mjpeg':
      return new MjpegHttpSource({ url, credentials, staleAfterMs });
    case 'snapshot':
      return new SnapshotSource({ url, credentials, intervalMs: settings.snapshotIntervalMs, staleAfterMs });
    case 'ffmpeg':
      return ffmpegSource({ input, fps, width: settings.width, staleAfterMs });
    case 'rpicam':
      return rpicamSource({ fps, width: settings.width >= 64 ? settings.width : DEFAULT_RPICAM_SIZE.width, height: settings.height, staleAfterMs });
    default:
      return undefined;
  }
}

/**
 * The camera a frame-buffer's settings name, watched: a source that cannot be
 * made (a URL or an input missing) leaves the watch in `error` with `problem`
 * to warn about, as does a buffer fed by messages without one.
 */
export function openCamera(ring: FrameRing, settings: CameraSettings & { fromMessages: boolean }): { camera: CameraWatch; problem?: string } {
  const options = { fromMessages: settings.fromMessages, staleAfterMs: settings.staleAfterMs };
  try {
    return { camera: new CameraWatch(ring, createFrameSource(settings), options) };
  } catch (err) {
    const camera = new CameraWatch(ring, undefined, options);
    return { camera, problem: camera.unusable(err) };
  }
}

/** A camera's entry in `GET /porchlight/health`. */
export type CameraHealth = {
  ok: boolean;
  source: string;
  state: SourceState;
  detail?: string;
  lastFrameAgeMs?: number;
  frames: number;
};

/**
 * What a frame-buffer's camera is doing, for its status, its health entry and
 * its log: the source's state, the frame rate over the last status tick, and
 * staleness (no frame for `staleAfterMs`; a camera of the node's own only).
 */
export class CameraWatch {
  state: SourceState = 'connecting';
  detail = '';
  private framesThisTick = 0;
  private lastTickAt = Date.now();
  private lastLogged = '';

  constructor(
    private readonly ring: FrameRing,
    readonly source: FrameSource | undefined,
    private readonly options: { fromMessages: boolean; staleAfterMs: number },
  ) {
    ring.on('frame', () => this.framesThisTick++);
  }

  /** The source could not be made (a setting missing): its problem, to warn about. */
  unusable(err: unknown): string {
    this.state = 'error';
    this.detail = err instanceof Error ? err.message : String(err);
    return `camera source not usable: ${this.detail}`;
  }

  /**
   * Starts the source, its frames into the ring: `log` gets each new problem
   * once, `debug` each skipped part, `failed` is called when the source turns to `error`.
   */
  start(report: { log: (line: string) => void; debug: (line: string) => void; failed: () => void }): void {
    const { source } = this;
    if (!source) return;
    source.on('frame', (jpeg) => this.ring.push(jpeg));
    source.on('state', (state, detail) => {
      const line = this.changed(state, detail);
      if (line) report.log(line);
      if (state === 'error') report.failed();
    });
    source.on('problem', (reason) => report.debug(`${source.label}: ${reason}`));
    source.start();
  }

  /** Stops the source (sockets, timers, child processes). */
  stop(): Promise<void> {
    return this.source ? this.source.stop() : Promise.resolve();
  }

  /** A state change of the source; returns a line to log for each new problem (not at every retry of the same one). */
  changed(state: SourceState, detail: string): string | undefined {
    this.state = state;
    this.detail = detail;
    const problem = state === 'error' || state === 'reconnecting' ? detail : '';
    const line = problem && problem !== this.lastLogged ? `${this.source?.label}: ${state}: ${detail}` : undefined;
    this.lastLogged = problem;
    return line;
  }

  /** The status under the node; each call starts a new tick of the frame rate. */
  status(now = Date.now()): StatusWords {
    const fps = (this.framesThisTick * 1000) / Math.max(1, now - this.lastTickAt);
    this.framesThisTick = 0;
    this.lastTickAt = now;
    const latest = this.ring.latest();
    const size = this.ring.size;
    const held = this.source?.problems ? `${this.source.problems} skipped` : `${size} ${size === 1 ? 'frame' : 'frames'}`;
    if (this.options.fromMessages && !latest) return { tone: 'idle', text: 'waiting for frames (messages)' };
    if (this.state === 'error') return { tone: 'error', text: conciseOr(this.detail, 'camera: no picture') };
    if (this.state === 'connecting' && !latest) return { tone: 'idle', text: 'connecting to camera' };
    if (!this.options.fromMessages && (!latest || now - latest.capturedAt > this.options.staleAfterMs)) {
      const silent = latest ? `no frame for ${Math.round((now - latest.capturedAt) / 1000)} s` : 'no frame yet';
      return { tone: 'warn', text: `stale: ${silent}${this.state === 'reconnecting' ? ' · retrying' : ''}` };
    }
    return { tone: 'ready', text: `streaming ${fps.toFixed(1)} fps · ${held}` };
  }

  /** Down when the source failed or went stale. */
  health(now = Date.now()): CameraHealth {
    const latest = this.ring.latest();
    const ageMs = latest ? now - latest.capturedAt : undefined;
    const stale = !this.options.fromMessages && (ageMs === undefined || ageMs > this.options.staleAfterMs);
    return { ok: this.state !== 'error' && !stale, source: this.source?.label ?? 'messages', state: this.state, detail: this.detail || undefined, lastFrameAgeMs: ageMs, frames: this.ring.size };
  }

  /** Why a trigger found no frame to send. */
  whyNoFrames(): string {
    return this.state === 'streaming' || !this.detail ? 'no frames buffered' : this.detail;
  }
}
