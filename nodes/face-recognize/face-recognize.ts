import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { isPorchlightError } from '../../lib/errors';
import { ensureEvent } from '../../lib/events';
import { FACE_CROP_SIZE } from '../../lib/image';
import { BurstConsensus, type BurstOptions, burstPlaceOf, type BurstVerdict, decideFace, type DecisionOptions, DEFAULT_BURST, DEFAULT_DECISION, describeStrangerTolerance, formatOneIn, type FaceDecision, type FaceVote, parseStrangersOneIn, strangerTolerance, type StrangerTolerance, toleranceFor, type VerdictStatus } from '../../lib/recognize';
import { recordEmbedding, registerHealthCheck } from '../../lib/metrics';
import { NODE_DEFAULTS, numberSetting, readNumber } from '../../lib/settings';
import { embedFaces, type EngineSelection, modelIdForSelection, type QueuePolicy } from '../../lib/engine';
import type { DetectedFace, EmbeddedFace } from '../../lib/vision';
import { fileVisitors, visitorsOf, type VerdictMessage } from '../../lib/visitors';
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

type Msg = NodeMessageInFlow & Record<string, unknown>;

/** Output ports: verdicts by status, then (optionally) every frame. */
const OUTPUT_OF: Record<VerdictStatus, number> = { known: 0, unknown: 1, blacklisted: 2, no_face: 3 };
const PER_FRAME_OUTPUT = 4;

/** `msg.faces` from face-detect, as the embed task takes them; undefined when the message has none. */
function givenFaces(value: unknown): DetectedFace[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.filter((f) => f && typeof f === 'object' && f.box && typeof f.box.width === 'number') as DetectedFace[];
}

/** The status one frame alone would get: blacklist first, then known, then unknown. */
function frameStatus(decisions: readonly FaceDecision[]): VerdictStatus {
  if (decisions.some((d) => d.status === 'blacklisted')) return 'blacklisted';
  if (decisions.some((d) => d.status === 'known')) return 'known';
  return decisions.length > 0 ? 'unknown' : 'no_face';
}

interface Frame {
  msg: Msg;
  receivedAt: number;
}

/**
 * face-recognize: embeds the faces of each frame on the shared worker pool,
 * matches them against the face DB, and decides once per event across the
 * frames of a burst. Outputs: known, unknown, blacklisted, no face (and every
 * frame, when enabled).
 */
export = function register(RED: NodeAPI): void {
  function FaceRecognizeNode(this: Node, def: FaceRecognizeDef) {
    RED.nodes.createNode(this, def);
    const engine = useEngine(RED, this, def.engine);
    const { settings } = engine;
    const pool = engine.pool();
    const models = watchModels(this, 'recognition');
    // The distance comes from "strangers let through: 1 in N visits", for the model in use and the size of the
    // gallery (lib/recognize/strangers.ts); a raw distance in the dialog overrides it; a model without a shipped
    // impostor table falls back to the recognizer's own fixed tolerance. Calibrated tolerances still come first.
    const strangersOneIn = parseStrangersOneIn(def.strangers);
    const rawTolerance = readNumber(def.tolerance) ?? NaN;
    interface InForce {
      tolerance: number;
      strangers?: StrangerTolerance;
      text: string;
      /** The same, short enough for the status: "1 in 1,000 · 20 people". */
      short: string;
    }
    const toleranceInForce = (chosen: EngineSelection): InForce => {
      if (Number.isFinite(rawTolerance)) return { tolerance: rawTolerance, text: `distance ${rawTolerance} (set by hand)`, short: `distance ${rawTolerance} by hand` };
      const model = modelIdForSelection(chosen);
      const strangers = matcher ? strangerTolerance(model, strangersOneIn, { photosPerPerson: matcher.photosPerPerson(model) }) : undefined;
      if (strangers) {
        const people = `${strangers.people} ${strangers.people === 1 ? 'person' : 'people'}`;
        return { tolerance: strangers.distance, strangers, text: describeStrangerTolerance(strangers), short: `1 in ${formatOneIn(strangers.oneIn)} · ${people}` };
      }
      const fallback = chosen.tolerance ?? DEFAULT_DECISION.tolerance;
      return { tolerance: fallback, text: `distance ${fallback} (the recognizer's; no stranger statistics for ${model})`, short: `distance ${fallback}` };
    };
    const decisionFor = (chosen: EngineSelection): DecisionOptions => ({
      tolerance: toleranceInForce(chosen).tolerance,
      margin: numberSetting(def.margin, DEFAULT_DECISION.margin),
    });
    const burst: BurstOptions = {
      ...DEFAULT_BURST,
      maxFrames: Math.floor(numberSetting(def.burstFrames, DEFAULT_BURST.maxFrames, 1)),
      windowMs: numberSetting(def.burstMs, DEFAULT_BURST.windowMs),
      certainty: numberSetting(def.certainty, DEFAULT_BURST.certainty),
      minQuality: numberSetting(def.minQuality, DEFAULT_BURST.minQuality),
      atOnce: def.atOnce !== false,
    };
    const perFrame = def.perFrame === true;
    const policy = def.queuePolicy ?? NODE_DEFAULTS['face-recognize'].queuePolicy;
    let closing = false;
    let inFlight = 0;
    let idle: (() => void) | undefined;

    const consensus = new BurstConsensus<Frame>(burst, (verdict) => sendVerdict(verdict));
    const selection = engine.selection();
    selection.catch(() => undefined);
    const faceDb: Promise<FaceDb> = leaseFaceDb(RED, this, def.db, {
      // Frames being embedded finish before the DB file may close.
      drain: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (idle = resolve))),
    });

    // A tolerance calibrated in the DB (per person or DB-wide) takes precedence over the dialog's: the status says so.
    let matcher: FaceDb['matcher'] | undefined;
    let chosenSelection: EngineSelection | undefined;
    selection.then((chosen) => (chosenSelection = chosen), () => undefined);
    /**
     * "ready · 1 in 1,000 · 20 people" under the node, once the engine and the gallery are known; the
     * sidebar's log gets the whole "distance 0.87 for 1 in 1,000 · 20 people" once per change (and
     * /porchlight/health keeps the details).
     */
    const showReady = () => {
      if (!chosenSelection || !matcher) return showStatus(this, readyStatus('ready'));
      const inForce = toleranceInForce(chosenSelection);
      const calibrated = matcher.hasCalibration();
      showStatus(this, readyStatus(calibrated ? 'ready · calibrated tolerance' : `ready · ${inForce.short}`), `ready: ${inForce.text}${calibrated ? ' · calibrated tolerance in force' : ''}`);
    };
    faceDb.then((db) => {
      matcher = db.matcher;
      // Enrolments and removals change the gallery, and with it the distance in force: the status follows.
      const unsubscribe = db.store.onChange(() => {
        db.matcherReady.then(() => {
          if (!closing && ready) showReady();
        }, () => undefined);
      });
      this.on('close', unsubscribe);
    }, () => undefined);
    let ready = false;
    const unregisterHealth = registerHealthCheck(`recognize:${this.id}`, () => {
      if (!chosenSelection || !matcher) return { ok: true, state: 'loading' };
      const inForce = toleranceInForce(chosenSelection);
      return {
        ok: true,
        distance: inForce.tolerance,
        tolerance: inForce.text,
        strangersOneIn: Number.isFinite(rawTolerance) ? null : strangersOneIn,
        people: inForce.strangers?.people,
        model: modelIdForSelection(chosenSelection),
        calibrated: matcher.hasCalibration(),
      };
    });
    this.on('close', unregisterHealth);

    // Warm-up: load the detectors (a blank frame runs both), landmarks and descriptor now, not on the first press.
    this.status(busyStatus('loading models'));
    Promise.all([faceDb.then((db) => db.matcherReady), selection])
      .then(async ([, chosen]) => {
        const blank = { data: new Uint8Array(64 * 64 * 3), width: 64, height: 64, channels: 3 };
        const engine = { ...chosen, policy: 'wait' as const, lane: 'doorbell' as const };
        await embedFaces(pool, blank, engine);
        await embedFaces(pool, blank, { ...engine, faces: [{ box: { x: 8, y: 8, width: 48, height: 48 }, score: 1 }] });
      })
      .then(() => {
        models.loaded();
        ready = true;
        if (!closing) showReady();
      })
      .catch((err) => {
        models.failed(err);
        if (!closing) showStatus(this, errorStatus(err), `face-recognize could not load its models: ${(err as Error).message}`);
      });

    const sendVerdict = (verdict: BurstVerdict<Frame>): void => {
      if (closing) return;
      const { msg, receivedAt } = verdict.bestFrame;
      const out: Msg = perFrame ? RED.util.cloneMessage(msg) : msg;
      const firstFrameAt = Math.min(receivedAt, verdict.firstFrameAt);
      out.verdict = {
        status: verdict.status,
        people: verdict.people.map(({ personId, name, list, distance, confidence }) => ({ personId, name, list, distance, confidence })),
        framesSeen: verdict.framesSeen,
        decidedAt: verdict.decidedAt,
        latencyMs: verdict.decidedAt - firstFrameAt,
        reason: verdict.reason,
      };
      const ports: Array<Msg | null> = [null, null, null, null];
      if (perFrame) ports.push(null);
      ports[OUTPUT_OF[verdict.status]] = out;
      // Unknown faces join the recurring visitors first, so the verdict can say "visitor #7, seen 4 times".
      noteVisitor(out)
        .catch((err: Error) => this.warn(`recurring visitors: ${err.message}`))
        .finally(() => {
          if (!closing) this.send(ports as never);
        });
      // "known: Sam · 640 ms"; more people as "+2", a long name cut (the verdict message has them all).
      const [first, ...others] = verdict.people.map((p) => p.name);
      const ms = ` · ${Math.round(verdict.decidedAt - firstFrameAt)} ms`;
      const head = verdict.status.replace('_', ' ');
      const more = others.length ? ` +${others.length}` : '';
      const who = first ? `: ${shortStatus(first, Math.max(4, MAX_STATUS - head.length - more.length - ms.length - 2))}${more}` : '';
      const text = `${head}${who}${ms}`;
      this.status(verdict.status === 'blacklisted' ? warnStatus(text) : readyStatus(text));
    };

    /** Files the verdict's unknown faces with the door's recurring visitors (lib/visitors fileVisitors). */
    const noteVisitor = (out: Msg) =>
      fileVisitors(out as unknown as VerdictMessage, burst.minQuality, async () => {
        const [db, chosen] = await Promise.all([faceDb, selection]);
        return closing ? undefined : { book: visitorsOf(db.store, db.local), tolerance: decisionFor(chosen).tolerance };
      });

    const recognize = async (msg: Msg): Promise<{ faces: EmbeddedFace[]; decisions: FaceDecision[]; votes: FaceVote[] }> => {
      const given = givenFaces(msg.faces);
      if (given && given.length === 0) return { faces: [], decisions: [], votes: [] };
      const [db, chosen] = await Promise.all([faceDb, selection]);
      const result = await embedFaces(pool, msg.payload, {
        detector: chosen.detector,
        detectorConfig: chosen.detectorConfig,
        recognizer: chosen.recognizer,
        recognizerConfig: chosen.recognizerConfig,
        faces: given,
        // Faces come back re-ordered by quality, so their crops are cut again rather than matched up with the input's.
        cropSize: FACE_CROP_SIZE,
        flip: def.flip !== false,
        maxPixels: settings.maxPixels,
        policy,
        lane: 'doorbell',
      }).then(
        (analyzed) => {
          models.loaded();
          if (analyzed.faces.some((face) => face.embedding)) recordEmbedding(analyzed.timings.embedMs);
          return analyzed;
        },
        (err: unknown) => {
          models.failed(err);
          throw err;
        },
      );
      await db.matcherReady;
      const decision = decisionFor(chosen);
      const decisions = result.faces.map((face) =>
        face.embedding && face.model ? decideFace(db.matcher.nearest(face.embedding, face.model, 5), decision) : ({ status: 'unknown', confidence: 0 } as FaceDecision),
      );
      // Each vote carries the tolerance in force for its match, so that a clear match can decide the burst at once.
      const votes = result.faces.map((face, i): FaceVote => {
        const { match } = decisions[i];
        return { quality: face.quality.score, decision: decisions[i], tolerance: match ? toleranceFor(match, decision) : undefined };
      });
      return { faces: result.faces, decisions, votes };
    };

    this.on('input', (input: NodeMessageInFlow, send, done) => {
      const msg = input as Msg;
      const receivedAt = Date.now();
      // A frame with no event of its own cannot be joined by others: it is decided on its own at once.
      const standalone = !msg.event;
      const event = ensureEvent(msg.event, 'face-recognize', { node: this.id });
      msg.event = event;
      // A frame of a burst already decided changes nothing: it is not recognized (unless every frame is wanted on output 5).
      if (!perFrame && consensus.isDecided(event.id)) {
        done();
        return;
      }
      const place = burstPlaceOf(msg.burst);
      inFlight++;
      recognize(msg)
        .then(({ faces, decisions, votes }) => {
          msg.faces = faces.map((face, i) => ({
            box: face.box,
            score: face.score,
            landmarks: face.landmarks,
            quality: face.quality,
            crop: face.crop ? Buffer.from(face.crop.buffer, face.crop.byteOffset, face.crop.length) : undefined,
            status: decisions[i].status,
            match: decisions[i].status === 'unknown' ? null : decisions[i].match,
            model: face.model,
            embedding: face.embedding ? Array.from(face.embedding) : undefined,
          }));
          if (perFrame) {
            const frame = RED.util.cloneMessage(msg);
            frame.frameResult = { status: frameStatus(decisions), latencyMs: Date.now() - receivedAt };
            const ports: Array<Msg | null> = [null, null, null, null, null];
            ports[PER_FRAME_OUTPUT] = frame;
            send(ports as never);
          }
          consensus.add(event.id, { msg, receivedAt }, votes, { closeNow: standalone, place });
          done();
        })
        .catch((err: Error) => {
          if (isPorchlightError(err, 'DROPPED')) {
            // Back-pressure, not a failure: the frame counts as seen without votes.
            consensus.add(event.id, { msg, receivedAt }, [], { closeNow: standalone, place });
            done();
            return;
          }
          fail(this, done, err, { quiet: closing });
        })
        .finally(() => {
          inFlight--;
          if (inFlight === 0) idle?.();
        });
    });

    this.on('close', () => {
      closing = true;
      consensus.dispose();
    });
  }
  RED.nodes.registerType('porchlight-face-recognize', FaceRecognizeNode as never);
  registerAdminHttp(RED);
};
