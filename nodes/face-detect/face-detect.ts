import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { ensureEvent } from '../../lib/events';
import { detectedWords, detectFaces, detectionMessage, type DetectorChoice, type DetectRequest, QUEUE_POLICIES, type QueuePolicy, warmUpImage, warmUpWords, type WorkerPool } from '../../lib/engine';
import { ENGINE_CHOICE, useEngine } from '../shared/engine';
import { busyStatus, errorStatus, fail, showStatus, toneStatus } from '../shared/status';
import { choiceSetting, flagSetting, NODE_DEFAULTS, numberSetting } from '../../lib/settings';
import { type ModelWatch, watchModels } from '../shared/model-health';
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

const DEFAULTS = NODE_DEFAULTS['face-detect'];

/** The request for each frame, but the detector: the dialog's settings. */
function requestSettings(def: FaceDetectDef, maxPixels: number): Omit<DetectRequest, 'detector' | 'detectorConfig'> {
  return {
    options: {
      minConfidence: numberSetting(def.minConfidence, DEFAULTS.minConfidence),
      minFaceSize: numberSetting(def.minFaceSize, DEFAULTS.minFaceSize),
      maxFaces: numberSetting(def.maxFaces, DEFAULTS.maxFaces),
      landmarks: flagSetting(def.landmarks, DEFAULTS.landmarks),
    },
    cropSize: flagSetting(def.crops, DEFAULTS.crops) ? numberSetting(def.cropSize, DEFAULTS.cropSize) : 0,
    maxPixels,
    policy: choiceSetting(def.queuePolicy, DEFAULTS.queuePolicy, QUEUE_POLICIES),
    lane: 'doorbell',
  };
}

/**
 * Warm-up: loads the models in a worker now rather than on the first doorbell
 * press; the status then says which pipeline is in force, and the engine's own
 * fallback (a model file missing or broken) stays visible, not only a green "ready".
 */
function warmUp(node: Node, pool: WorkerPool, request: Promise<DetectRequest>, choice: Promise<DetectorChoice>, models: ModelWatch, closing: () => boolean): void {
  request
    .then((req) => detectFaces(pool, warmUpImage(), { ...req, cropSize: 0, policy: 'wait' }))
    .then(async (result) => {
      models.loaded();
      if (closing()) return;
      const words = warmUpWords(result, await choice);
      showStatus(node, toneStatus(words), words.detail);
    })
    .catch((err) => {
      models.failed(err);
      if (!closing()) showStatus(node, errorStatus(err), `face-detect could not load its models: ${(err as Error).message}`);
    });
}

/**
 * face-detect: finds faces in `msg.payload` on the shared worker pool and adds
 * `msg.faces` and `msg.detection` (lib/engine). Output 1: frames with faces;
 * output 2: frames without.
 */
export = function register(RED: NodeAPI): void {
  function FaceDetectNode(this: Node, def: FaceDetectDef) {
    RED.nodes.createNode(this, def);
    const engine = useEngine(RED, this, def.engine);
    const pool = engine.pool();
    // "engine" (the default) follows the engine's choice, the fastest pipeline
    // that passed its self-test; a named detector pins face-api's tfjs one.
    const detector = choiceSetting(def.detector, DEFAULTS.detector);
    const choice: Promise<DetectorChoice> = detector === ENGINE_CHOICE ? engine.selection() : Promise.resolve({ detector, detectorConfig: {} });
    choice.catch(() => undefined);
    const settings = requestSettings(def, engine.settings.maxPixels);
    const requestFor = async (): Promise<DetectRequest> => {
      const { detector, detectorConfig } = await choice;
      return { detector, detectorConfig, ...settings };
    };
    const models = watchModels(this, 'detection');
    let lastLatency = 0;
    let closing = false;

    this.status(busyStatus('loading models'));
    warmUp(this, pool, requestFor(), choice, models, () => closing);

    this.on('input', (msg: NodeMessageInFlow, send, done) => {
      const started = Date.now();
      const { running, queued } = pool.stats();
      this.status(busyStatus(`queue ${queued} · running ${running} · ${Math.round(lastLatency)} ms`));
      requestFor()
        .then((request) => detectFaces(pool, msg.payload, request))
        .then((result) => {
          models.loaded();
          lastLatency = Date.now() - started;
          const out = Object.assign(msg, { event: ensureEvent((msg as Record<string, unknown>).event, 'face-detect', { node: this.id }) }, detectionMessage(result, lastLatency));
          send(result.faces.length > 0 ? [out, null] : [null, out]);
          const words = detectedWords(result, lastLatency, pool.stats().queued);
          showStatus(this, toneStatus(words), words.detail);
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
