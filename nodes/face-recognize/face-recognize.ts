import type { Node, NodeAPI, NodeDef, NodeMessageInFlow, NodeStatus } from 'node-red';
import { DEFAULT_BURST, DoorRecognizer, type FrameMessage, type MessageVerdict, parseStrangersOneIn, type RecognizeSettings } from '../../lib/recognize';
import { choiceSetting, flagSetting, NODE_DEFAULTS, numberSetting, readNumber } from '../../lib/settings';
import { QUEUE_POLICIES, type QueuePolicy } from '../../lib/engine';
import { fileVisitors, visitorsOf } from '../../lib/visitors';
import { leaseFaceDb, type FaceDb } from '../shared/db';
import { useEngine } from '../shared/engine';
import { watchModels } from '../shared/model-health';
import { busyStatus, errorStatus, fail, MAX_STATUS, readyStatus, shortStatus, showStatus, warnStatus } from '../shared/status';
import { registerAdminHttp } from '../admin-http';

interface FaceRecognizeDef extends NodeDef {
  engine?: string;
  db?: string;
  /** "Strangers let through: about 1 in N visits": N. */
  strangers?: string | number;
  /** A raw distance that overrides the one derived from `strangers` (advanced); blank for none. */
  tolerance: string | number;
  margin: string | number;
  burstFrames: string | number;
  burstMs: string | number;
  certainty: string | number;
  minQuality: string | number;
  /** Decide at once on a clear known face or a blacklisted one (default on). */
  atOnce?: boolean;
  flip?: boolean;
  perFrame?: boolean;
  queuePolicy?: QueuePolicy;
}

const DEFAULTS = NODE_DEFAULTS['face-recognize'];

/** The dialog's settings, blanks and nonsense replaced by the defaults. */
function settingsOf(def: FaceRecognizeDef, maxPixels: number | undefined): RecognizeSettings {
  return {
    tolerance: { strangersOneIn: parseStrangersOneIn(def.strangers), rawTolerance: readNumber(def.tolerance) ?? NaN },
    margin: numberSetting(def.margin, DEFAULTS.margin),
    burst: {
      ...DEFAULT_BURST,
      maxFrames: Math.floor(numberSetting(def.burstFrames, DEFAULTS.burstFrames, 1)),
      windowMs: numberSetting(def.burstMs, DEFAULTS.burstMs),
      certainty: numberSetting(def.certainty, DEFAULTS.certainty),
      minQuality: numberSetting(def.minQuality, DEFAULTS.minQuality),
      atOnce: flagSetting(def.atOnce, DEFAULTS.atOnce),
    },
    perFrame: flagSetting(def.perFrame, DEFAULTS.perFrame),
    flip: flagSetting(def.flip, DEFAULTS.flip),
    policy: choiceSetting(def.queuePolicy, DEFAULTS.queuePolicy, QUEUE_POLICIES),
    maxPixels,
  };
}

/** "known: Sam · 640 ms"; more people as "+2", a long name cut (the verdict message has them all). */
function verdictStatus(verdict: MessageVerdict): NodeStatus {
  const [first, ...others] = verdict.people.map((p) => p.name);
  const ms = ` · ${Math.round(verdict.latencyMs)} ms`;
  const head = verdict.status.replace('_', ' ');
  const more = others.length ? ` +${others.length}` : '';
  const who = first ? `: ${shortStatus(first, Math.max(4, MAX_STATUS - head.length - more.length - ms.length - 2))}${more}` : '';
  const text = `${head}${who}${ms}`;
  return verdict.status === 'blacklisted' ? warnStatus(text) : readyStatus(text);
}

/**
 * face-recognize: embeds the faces of each frame on the engine's worker pool,
 * matches them against the database, and decides once per event across the
 * frames of a burst (lib/recognize DoorRecognizer). Outputs: known, unknown,
 * blacklisted, no face (and every frame, when enabled).
 */
export = function register(RED: NodeAPI): void {
  function FaceRecognizeNode(this: Node, def: FaceRecognizeDef) {
    RED.nodes.createNode(this, def);
    const engine = useEngine(RED, this, def.engine);
    const pool = engine.pool();
    const models = watchModels(this, 'recognition');
    const selection = engine.selection();
    const recognizer: DoorRecognizer<FaceDb> = new DoorRecognizer(settingsOf(def, engine.settings.maxPixels), {
      id: this.id,
      pool,
      selection,
      // Frames being embedded finish before the DB file may close.
      gallery: leaseFaceDb(RED, this, def.db, { drain: () => recognizer.drain() }),
      models,
      visitors: { bookOf: (db: FaceDb) => visitorsOf(db.store, db.local), file: fileVisitors },
      clone: (msg) => RED.util.cloneMessage(msg),
      send: (ports) => this.send(ports as never),
      warn: (text) => this.warn(text),
      ready: ({ text, detail }) => showStatus(this, readyStatus(text), detail),
      failedToLoad: (err) => showStatus(this, errorStatus(err), `face-recognize could not load its models: ${err.message}`),
      decided: (verdict) => this.status(verdictStatus(verdict)),
    });

    this.status(busyStatus('loading models'));
    void recognizer.warmUp();

    this.on('input', (msg: NodeMessageInFlow, send, done) => {
      recognizer.frame(msg as FrameMessage, (ports) => send(ports as never)).then(
        () => done(),
        (err: unknown) => fail(this, done, err, { quiet: recognizer.closed }),
      );
    });
    this.on('close', () => recognizer.close());
  }
  RED.nodes.registerType('porchlight-face-recognize', FaceRecognizeNode as never);
  registerAdminHttp(RED);
};
