import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { ensureEvent } from '../../lib/events';
import { detectFaces, type DetectRequest, type QueuePolicy } from '../../lib/engine';
import { ENGINE_CHOICE, useEngine } from '../shared/engine';
import { busyStatus, errorStatus, fail, readyStatus, showStatus, warnStatus } from '../shared/status';
import { NODE_DEFAULTS, numberSetting } from '../../lib/settings';
import { watchModels } from '../shared/model-health';
import { registerAdminHttp } from '../admin-http';

interface FaceDetectDef extends NodeDef {
  engine?: string;
  detector: string;
  minConfidence: string | number;
  minFaceSize: string | number;
  maxFaces: string | number;
  crops: boolean;
  cropSize?: string | number;
  landmarks?: boolean;
  queuePolicy?: QueuePolicy;
}

/**
 * face-detect: finds faces in `msg.payload` on the shared worker pool and adds
 * `msg.faces`. Output 1: frames with faces; output 2: frames without.
 */
const DEFAULTS = NODE_DEFAULTS['face-detect'];

export = function register(RED: NodeAPI): void {
  function FaceDetectNode(this: Node, def: FaceDetectDef) {
    RED.nodes.createNode(this, def);
    const engine = useEngine(RED, this, def.engine);
    const { settings } = engine;
    const pool = engine.pool();
    const models = watchModels(this, 'detection');
    const options = {
      minConfidence: numberSetting(def.minConfidence, DEFAULTS.minConfidence),
      minFaceSize: numberSetting(def.minFaceSize, DEFAULTS.minFaceSize),
      maxFaces: numberSetting(def.maxFaces, DEFAULTS.maxFaces),
      landmarks: def.landmarks !== false,
    };
    // "engine" (the default) follows the engine's choice, the fastest pipeline
    // that passed its self-test; a named detector pins face-api's tfjs one.
    const followsEngine = !def.detector || def.detector === ENGINE_CHOICE;
    const detectorChoice: Promise<{ detector: string; detectorConfig: Record<string, unknown>; label?: string; reason?: string; fallback?: string }> = followsEngine
      ? engine.selection()
      : Promise.resolve({ detector: def.detector, detectorConfig: {} });
    detectorChoice.catch(() => undefined);
    const requestFor = async (): Promise<DetectRequest> => {
      const { detector, detectorConfig } = await detectorChoice;
      return {
        detector,
        detectorConfig,
        options,
        cropSize: def.crops ? numberSetting(def.cropSize, DEFAULTS.cropSize) : 0,
        maxPixels: settings.maxPixels,
        policy: def.queuePolicy ?? DEFAULTS.queuePolicy,
        lane: 'doorbell',
      };
    };
    /** "face-api SSD MobileNet + ResNet-128 (onnxruntime)" as "face-api SSD MobileNet" when `room` is short (the whole label goes to the sidebar). */
    const shortLabel = (label: string, room: number) => {
      const plain = label.replace(/\s*\([^)]*\)$/, '');
      return plain.length <= room ? plain : plain.split(' + ')[0];
    };
    let lastLatency = 0;
    let closing = false;

    const showQueue = () => {
      const { running, queued } = pool.stats();
      this.status(busyStatus(`queue ${queued} · running ${running} · ${Math.round(lastLatency)} ms`));
    };

    // Warm-up: load the models in a worker now rather than on the first doorbell press.
    this.status(busyStatus('loading models'));
    requestFor()
      .then((request) => detectFaces(pool, { data: new Uint8Array(64 * 64 * 3), width: 64, height: 64, channels: 3 }, { ...request, cropSize: 0, policy: 'wait' }))
      .then(async (result) => {
        models.loaded();
        if (closing) return;
        // The engine's own fallback (a model file missing or broken) stays visible, not only a green "ready".
        const { fallback, label } = await detectorChoice;
        const warning = result.fallbackWarning ?? (fallback && `${label ?? result.detector}, because ${fallback}`);
        // "fallback: face-api SSD" under the node, the reason in the debug sidebar (and /porchlight/health).
        if (warning) showStatus(this, warnStatus(`fallback: ${shortLabel(label ?? result.detector, 22)}`), `face-detect fallback: ${warning}`);
        else showStatus(this, readyStatus(`ready (${shortLabel(label ?? result.detector, 24)})`), label ? `face-detect ready: ${label}` : undefined);
      })
      .catch((err) => {
        models.failed(err);
        if (!closing) showStatus(this, errorStatus(err), `face-detect could not load its models: ${(err as Error).message}`);
      });

    this.on('input', (msg: NodeMessageInFlow, send, done) => {
      const started = Date.now();
      showQueue();
      requestFor()
        .then((request) => detectFaces(pool, msg.payload, request))
        .then((result) => {
          models.loaded();
          lastLatency = Date.now() - started;
          const out = msg as NodeMessageInFlow & Record<string, unknown>;
          out.event = ensureEvent(out.event, 'face-detect', { node: this.id });
          out.faces = result.faces.map((face) => ({
            box: face.box,
            score: face.score,
            landmarks: face.landmarks,
            ...(face.crop ? { crop: Buffer.from(face.crop.buffer, face.crop.byteOffset, face.crop.length) } : {}),
          }));
          out.detection = {
            detector: result.detector,
            width: result.width,
            height: result.height,
            timings: result.timings,
            latencyMs: lastLatency,
            // The rest of the latency, outside the worker's own run: the queue, and the hand-over to the thread and back.
            waitMs: Math.max(0, lastLatency - result.timings.totalMs),
          };
          send(result.faces.length > 0 ? [out, null] : [null, out]);
          const { queued } = pool.stats();
          const text = `${result.faces.length} ${result.faces.length === 1 ? 'face' : 'faces'} · ${Math.round(lastLatency)} ms${queued ? ` · queue ${queued}` : ''}`;
          if (result.fallbackWarning) showStatus(this, warnStatus(`fallback: ${shortLabel(result.detector, 22)}`), `face-detect fallback: ${result.fallbackWarning}`);
          else showStatus(this, readyStatus(text));
          done();
        })
        .catch((err: Error) => {
          models.failed(err);
          fail(this, done, err, { quiet: closing });
        });
    });

    this.on('close', () => {
      closing = true;
    });
  }
  RED.nodes.registerType('porchlight-face-detect', FaceDetectNode as never);
  registerAdminHttp(RED);
};
