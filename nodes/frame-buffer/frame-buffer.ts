import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { PorchlightError } from '../../lib/errors';
import { type DoorbellEvent, ensureEvent } from '../../lib/events';
import { Burst, type BurstOptions, type BurstPlace, type BurstSummary, DEFAULT_RPICAM_SIZE, ffmpegSource, FrameRing, type FrameSource, MjpegHttpSource, rpicamSource, SnapshotSource, type SourceState, startsWithSoi, type StoredFrame } from '../../lib/camera';
import { registerHealthCheck } from '../../lib/metrics';
import { conciseOr, errorStatus, fail, readyStatus, warnStatus } from '../shared/status';
import { NODE_DEFAULTS, numberSetting } from '../../lib/settings';
import { registerAdminHttp, registerCamera } from '../admin-http';

type SourceKind = 'msg' | 'mjpeg' | 'snapshot' | 'ffmpeg' | 'rpicam';

interface FrameBufferDef extends NodeDef {
  source: SourceKind;
  url?: string;
  snapshotInterval?: string | number;
  input?: string;
  fps?: string | number;
  width?: string | number;
  height?: string | number;
  maxFrames?: string | number;
  maxMegabytes?: string | number;
  preRoll?: string | number;
  burstCount?: string | number;
  burstInterval?: string | number;
  output?: 'each' | 'single';
  staleAfter?: string | number;
  /** Live view: seconds a viewer may take no data before it is dropped (default 10). */
  liveTimeout?: string | number;
}

interface Credentials {
  user?: string;
  password?: string;
}

/** `msg.frame`: where a frame sits in the camera's stream and in its event. */
interface FrameInfo {
  seq: number;
  capturedAt: number;
  width: number;
  height: number;
  preRoll: boolean;
  /** Position among this event's frames, from 0. */
  index: number;
}

const MAX_CONCURRENT_BURSTS = 8;

const DEFAULTS = NODE_DEFAULTS['frame-buffer'];

/** The configured camera, or undefined for frames arriving as messages. Throws on a missing URL or input. */
function createSource(def: FrameBufferDef, credentials: Credentials, staleAfterMs: number): FrameSource | undefined {
  const fps = numberSetting(def.fps, DEFAULTS.fps, 0.1);
  const url = String(def.url ?? '').trim();
  const input = String(def.input ?? '').trim();
  if ((def.source === 'mjpeg' || def.source === 'snapshot') && !url) throw new PorchlightError('BAD_INPUT', 'set the camera URL');
  if (def.source === 'ffmpeg' && !input) throw new PorchlightError('BAD_INPUT', 'set the ffmpeg input (rtsp://..., /dev/video0 or a file)');
  switch (def.source) {
    case 'mjpeg':
      return new MjpegHttpSource({ url, credentials, staleAfterMs });
    case 'snapshot':
      return new SnapshotSource({ url, credentials, intervalMs: numberSetting(def.snapshotInterval, DEFAULTS.snapshotInterval, 50), staleAfterMs });
    case 'ffmpeg':
      return ffmpegSource({ input, fps, width: numberSetting(def.width, DEFAULTS.width), staleAfterMs });
    case 'rpicam':
      return rpicamSource({ fps, width: numberSetting(def.width, DEFAULT_RPICAM_SIZE.width, 64), height: numberSetting(def.height, DEFAULTS.height, 64), staleAfterMs });
    default:
      return undefined;
  }
}

/**
 * frame-buffer: keeps the camera's recent JPEG frames in a ring bounded by
 * count and bytes, and on a trigger sends the pre-roll (frames from before the
 * press) and a burst of the frames that follow.
 */
export = function register(RED: NodeAPI): void {
  function FrameBufferNode(this: Node<Credentials>, def: FrameBufferDef) {
    RED.nodes.createNode(this, def);
    const ring = new FrameRing({
      maxFrames: Math.round(numberSetting(def.maxFrames, DEFAULTS.maxFrames, 1)),
      maxBytes: numberSetting(def.maxMegabytes, DEFAULTS.maxMegabytes, 0.1) * 1024 * 1024,
    });
    const burstOptions: BurstOptions = {
      preRoll: Math.round(numberSetting(def.preRoll, DEFAULTS.preRoll)),
      count: Math.round(numberSetting(def.burstCount, DEFAULTS.burstCount)),
      intervalMs: numberSetting(def.burstInterval, DEFAULTS.burstInterval),
    };
    const oneMessage = def.output === 'single';
    const staleAfterMs = numberSetting(def.staleAfter, DEFAULTS.staleAfter, 0.5) * 1000;
    // The live view on the admin API (`/porchlight/camera/<id>/latest.jpg`, `stream.mjpeg`).
    const stopLiveView = registerCamera(this.id, ring, { writeTimeoutMs: numberSetting(def.liveTimeout, DEFAULTS.liveTimeout, 0.5) * 1000 });
    const bursts = new Map<string, Burst>();

    // Status: frame rate over the last second, staleness, source errors.
    let sourceState: SourceState = 'connecting';
    let sourceDetail = '';
    let framesThisTick = 0;
    let lastTickAt = Date.now();
    ring.on('frame', () => framesThisTick++);

    const fromMessages = !def.source || def.source === 'msg';
    let source: FrameSource | undefined;
    try {
      source = createSource(def, this.credentials ?? {}, staleAfterMs);
    } catch (err) {
      sourceState = 'error';
      sourceDetail = (err as Error).message;
      this.warn(`camera source not usable: ${sourceDetail}`);
    }
    const showStatus = () => {
      const now = Date.now();
      const fps = (framesThisTick * 1000) / Math.max(1, now - lastTickAt);
      framesThisTick = 0;
      lastTickAt = now;
      const latest = ring.latest();
      // Short texts under the node; the source's problems are logged once each (below), its state is in /porchlight/health.
      const held = source?.problems ? `${source.problems} skipped` : `${ring.size} ${ring.size === 1 ? 'frame' : 'frames'}`;
      if (fromMessages && !latest) this.status({ fill: 'grey', shape: 'ring', text: 'waiting for frames (messages)' });
      else if (sourceState === 'error') this.status({ ...errorStatus(sourceDetail), text: conciseOr(sourceDetail, 'camera: no picture') });
      else if (sourceState === 'connecting' && !latest) this.status({ fill: 'grey', shape: 'ring', text: 'connecting to camera' });
      else if (!fromMessages && (!latest || now - latest.capturedAt > staleAfterMs)) {
        const silent = latest ? `no frame for ${Math.round((now - latest.capturedAt) / 1000)} s` : 'no frame yet';
        this.status(warnStatus(`stale: ${silent}${sourceState === 'reconnecting' ? ' · retrying' : ''}`));
      } else this.status(readyStatus(`streaming ${fps.toFixed(1)} fps · ${held}`));
    };
    const statusTimer = setInterval(showStatus, 1000);
    showStatus();

    // `GET /porchlight/health` lists this camera: down when its source failed or went stale.
    const unregisterHealth = registerHealthCheck(`camera:${this.id}`, () => {
      const latest = ring.latest();
      const ageMs = latest ? Date.now() - latest.capturedAt : undefined;
      const stale = !fromMessages && (ageMs === undefined || ageMs > staleAfterMs);
      return { ok: sourceState !== 'error' && !stale, source: source?.label ?? 'messages', state: sourceState, detail: sourceDetail || undefined, lastFrameAgeMs: ageMs, frames: ring.size };
    });

    if (source) {
      source.on('frame', (jpeg) => ring.push(jpeg));
      let lastLogged = '';
      source.on('state', (state, detail) => {
        sourceState = state;
        sourceDetail = detail;
        // Log each new problem once, not at every retry of the same one.
        const problem = state === 'error' || state === 'reconnecting' ? detail : '';
        if (problem && problem !== lastLogged) this.log(`${source.label}: ${state}: ${detail}`);
        lastLogged = problem;
        if (state === 'error') showStatus();
      });
      source.on('problem', (reason) => this.debug(`${source.label}: ${reason}`));
      source.start();
    }

    const startBurst = (msg: NodeMessageInFlow, send: (msg: object) => void, done: (err?: Error) => void) => {
      const event: DoorbellEvent = ensureEvent((msg as Record<string, unknown>).event, 'frame-buffer', { node: this.id });
      if (bursts.has(event.id)) {
        done(); // this event's burst is already running: a repeated trigger adds nothing
        return;
      }
      if (bursts.size >= MAX_CONCURRENT_BURSTS) {
        fail(this, done, new PorchlightError('QUEUE_FULL', `frame-buffer: ${bursts.size} bursts already running; trigger for event ${event.id} dropped`));
        return;
      }
      const collected: { jpeg: Buffer; frame: FrameInfo }[] = [];
      let index = 0;
      // One message per frame carries its place in the burst (msg.burst), so face-recognize knows the last one.
      const emitFrame = (stored: StoredFrame, preRoll: boolean, place: BurstPlace) => {
        const frame: FrameInfo = { seq: stored.seq, capturedAt: stored.capturedAt, width: stored.width, height: stored.height, preRoll, index: index++ };
        if (oneMessage) collected.push({ jpeg: stored.jpeg, frame });
        else send({ topic: msg.topic, payload: stored.jpeg, event, frame, burst: place });
      };
      const finished = (summary: BurstSummary) => {
        bursts.delete(event.id);
        if (summary.preRoll + summary.burst === 0) {
          const why = sourceState === 'streaming' || !sourceDetail ? 'no frames buffered' : sourceDetail;
          fail(this, done, new PorchlightError('BAD_INPUT', `frame-buffer: no frame to send for event ${event.id} (${why})`));
          return;
        }
        if (oneMessage) {
          send({ topic: msg.topic, payload: collected.map((c) => c.jpeg), frames: collected.map((c) => c.frame), event, burst: summary });
        }
        done();
      };
      const burst = new Burst(ring, burstOptions, emitFrame, finished);
      if (!burst.done) bursts.set(event.id, burst);
    };

    // A JPEG Buffer is a frame (message camera); a Buffer that is not a JPEG is a
    // broken frame; anything else triggers, so that gpio-doorbell's msg.event,
    // topic "trigger" and a plain rpi-gpio in message all work.
    this.on('input', (msg: NodeMessageInFlow, send, done) => {
      const payload = msg.payload;
      const isTrigger = msg.topic === 'trigger' || (msg as Record<string, unknown>).event !== undefined;
      if (fromMessages && Buffer.isBuffer(payload) && !isTrigger) {
        if (startsWithSoi(payload)) {
          ring.push(payload);
          done();
        } else {
          fail(this, done, new PorchlightError('NOT_AN_IMAGE', `frame-buffer: msg.payload is ${payload.length} bytes but not a JPEG; frames must be JPEG Buffers`));
        }
        return;
      }
      startBurst(msg, send as (msg: object) => void, done);
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(statusTimer);
      unregisterHealth();
      for (const burst of bursts.values()) burst.cancel();
      bursts.clear();
      stopLiveView();
      const stopped = source ? source.stop() : Promise.resolve();
      stopped.catch((err) => this.warn(err)).finally(() => {
        ring.clear();
        done();
      });
    });
  }

  RED.nodes.registerType('porchlight-frame-buffer', FrameBufferNode as never, {
    credentials: { user: { type: 'text' }, password: { type: 'password' } },
  });
  registerAdminHttp(RED);
};
