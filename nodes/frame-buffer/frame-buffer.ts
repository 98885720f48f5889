import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { type BurstOptions, type CameraSettings, EventFrames, fedByMessages, frameIn, FrameRing, openCamera, SOURCE_KINDS, type SourceKind } from '../../lib/camera';
import { registerHealthCheck } from '../../lib/metrics';
import { fail, toneStatus } from '../shared/status';
import { choiceSetting, NODE_DEFAULTS, numberSetting } from '../../lib/settings';
import { registerAdminHttp, registerCamera } from '../admin-http';

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

const DEFAULTS = NODE_DEFAULTS['frame-buffer'];

/** Where the frames come from: the dialog's choice, or frames as messages (the default) when unset or unknown. */
function sourceOf(def: FrameBufferDef): SourceKind {
  return choiceSetting<SourceKind>(def.source, DEFAULTS.source, SOURCE_KINDS);
}

/** The camera's settings from the edit dialog (its stale time is the node's, shared with the status). */
function cameraSettings(def: FrameBufferDef, credentials: Credentials): Omit<CameraSettings, 'staleAfterMs'> {
  return {
    kind: sourceOf(def),
    url: def.url,
    input: def.input,
    credentials,
    fps: numberSetting(def.fps, DEFAULTS.fps, 0.1),
    width: numberSetting(def.width, DEFAULTS.width),
    height: numberSetting(def.height, DEFAULTS.height, 64),
    snapshotIntervalMs: numberSetting(def.snapshotInterval, DEFAULTS.snapshotInterval, 50),
  };
}

function burstSettings(def: FrameBufferDef): BurstOptions {
  return {
    preRoll: Math.round(numberSetting(def.preRoll, DEFAULTS.preRoll)),
    count: Math.round(numberSetting(def.burstCount, DEFAULTS.burstCount)),
    intervalMs: numberSetting(def.burstInterval, DEFAULTS.burstInterval),
  };
}

/**
 * frame-buffer: keeps the camera's recent JPEG frames in a ring bounded by
 * count and bytes, and on a trigger sends the pre-roll (frames from before the
 * press) and a burst of the frames that follow (lib/camera: the source, its
 * status and the event's frames).
 */
export = function register(RED: NodeAPI): void {
  function FrameBufferNode(this: Node<Credentials>, def: FrameBufferDef) {
    RED.nodes.createNode(this, def);
    const ring = new FrameRing({
      maxFrames: Math.round(numberSetting(def.maxFrames, DEFAULTS.maxFrames, 1)),
      maxBytes: numberSetting(def.maxMegabytes, DEFAULTS.maxMegabytes, 0.1) * 1024 * 1024,
    });
    const staleAfterMs = numberSetting(def.staleAfter, DEFAULTS.staleAfter, 0.5) * 1000;
    // The live view on the admin API (`/porchlight/camera/<id>/latest.jpg`, `stream.mjpeg`).
    const stopLiveView = registerCamera(this.id, ring, { writeTimeoutMs: numberSetting(def.liveTimeout, DEFAULTS.liveTimeout, 0.5) * 1000 });
    const fromMessages = fedByMessages(sourceOf(def));
    const { camera, problem } = openCamera(ring, { ...cameraSettings(def, this.credentials ?? {}), fromMessages, staleAfterMs });
    if (problem) this.warn(problem);
    // Status: frame rate over the last second, staleness, source errors; its details in /porchlight/health.
    const showStatus = () => this.status(toneStatus(camera.status()));
    const statusTimer = setInterval(showStatus, 1000);
    showStatus();
    const unregisterHealth = registerHealthCheck(`camera:${this.id}`, () => camera.health());
    camera.start({ log: (line) => this.log(line), debug: (line) => this.debug(line), failed: showStatus });

    const events = new EventFrames(ring, { burst: burstSettings(def), oneMessage: choiceSetting(def.output, DEFAULTS.output, ['each', 'single']) === 'single', node: this.id, whyNoFrames: () => camera.whyNoFrames() });

    // A JPEG Buffer is a frame (message camera); anything else triggers (lib/camera frameIn).
    this.on('input', (msg: NodeMessageInFlow, send, done) => {
      let frame: Buffer | undefined;
      try {
        frame = frameIn(msg, fromMessages);
      } catch (err) {
        return fail(this, done, err);
      }
      if (!frame) return events.trigger(msg, send as (msg: object) => void, (err) => (err ? fail(this, done, err) : done()));
      ring.push(frame);
      done();
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      clearInterval(statusTimer);
      unregisterHealth();
      events.cancelAll();
      stopLiveView();
      camera.stop().catch((err) => this.warn(err)).finally(() => {
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
