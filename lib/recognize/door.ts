import { embedFaces } from '../engine/client';
import { type EngineSelection, modelIdForSelection } from '../engine/select';
import { isPorchlightError } from '../errors';
import { ensureEvent } from '../events/event';
import { FACE_CROP_SIZE } from '../image/box';
import type { Matcher } from '../match/matcher';
import { type ComponentHealth, registerHealthCheck } from '../metrics/health';
import { recordEmbedding } from '../metrics';
import type { Store } from '../store/types';
import type { AnalyzeResult } from '../vision/embedding-types';
import type { QueuePolicy, WorkerPool } from '../workers/pool';
import { BurstConsensus, type BurstOptions, burstPlaceOf, type BurstVerdict, type FaceVote } from './burst';
import type { DecisionOptions, FaceDecision } from './decision';
import { decideFrame, facesOfMessage, framePorts, frameStatus, givenFaces, type MessageVerdict, verdictOfMessage, verdictPorts } from './frame';
import { readiness, type Readiness, toleranceHealth, toleranceInForce, type ToleranceInForce, type ToleranceSetting } from './in-force';

/** A message through face-recognize (Node-RED's `msg`). */
export type FrameMessage = Record<string, unknown>;

/** face-recognize's settings, as its dialog gives them. */
export interface RecognizeSettings {
  tolerance: ToleranceSetting;
  /** The best person must be this much nearer than the second-best one. */
  margin: number;
  burst: BurstOptions;
  /** Every frame leaves on a fifth output too, its own `frameResult` on it. */
  perFrame: boolean;
  /** Average each face's descriptor with its mirror image's. */
  flip: boolean;
  policy: QueuePolicy;
  /** The engine's limit on an image's size. */
  maxPixels?: number;
}

/** The door's gallery: the people enrolled in its database and the matcher that holds their faces. */
export interface Gallery {
  store: Pick<Store, 'onChange'>;
  matcher: Matcher;
  /** Resolves when the matcher holds every stored embedding. */
  matcherReady: Promise<void>;
}

/** What visitor filing reads of a verdict message (lib/visitors `VerdictMessage`): its event, faces and verdict. */
export interface FiledVerdict {
  event: { id: string; startedAt: number };
  faces?: unknown;
  verdict: { status: string; visitor?: unknown };
}

/** A door's visitor book, opened for filing (lib/visitors `VisitorBookOpener`). */
type BookOpener<B> = () => Promise<{ book: B; tolerance: number } | undefined>;

/** What the recognizer uses and tells: wired by the node (its engine, database, outputs and status). */
export interface RecognizeWiring<G extends Gallery, B = unknown> {
  /** For its health check: `recognize:<id>`. */
  id: string;
  pool: WorkerPool;
  selection: Promise<EngineSelection>;
  gallery: Promise<G>;
  /** The models' health (the warm-up or a frame went through, or failed). */
  models: { loaded(): void; failed(err: unknown): void };
  /**
   * The door's recurring visitors (lib/visitors `visitorsOf` and `fileVisitors`,
   * which lib/recognize does not import: lib/visitors depends on lib/settings, which depends on this folder).
   */
  visitors: {
    bookOf(gallery: G): B;
    file(msg: FiledVerdict, minQuality: number, open: BookOpener<B>): Promise<unknown>;
  };
  /** A deep copy of a message (Node-RED's `RED.util.cloneMessage`). */
  clone(msg: FrameMessage): FrameMessage;
  /** Sends a verdict: one message per output, null for none. */
  send(ports: Array<FrameMessage | null>): void;
  warn(text: string): void;
  /** The models are loaded (after the warm-up), or the gallery changed since: the distance in force with them. */
  ready(readiness: Readiness): void;
  /** The warm-up failed: nothing can be recognised. */
  failedToLoad(err: Error): void;
  /** A verdict is about to leave (its recurring visitor is still being filed). */
  decided(verdict: MessageVerdict): void;
}

interface Frame {
  msg: FrameMessage;
  receivedAt: number;
}

/** A blank frame for the warm-up, and a face box inside it. */
const BLANK = { data: new Uint8Array(64 * 64 * 3), width: 64, height: 64, channels: 3 };
const BLANK_FACE = { box: { x: 8, y: 8, width: 48, height: 48 }, score: 1 };

const ignore = () => undefined;

/**
 * face-recognize without Node-RED: embeds the faces of each frame on the
 * worker pool, matches them against the door's gallery, and decides once per
 * event across the frames of a burst (burst.ts). A verdict leaves once its
 * unknown faces are filed with the door's recurring visitors, so that it can
 * say "visitor #7, seen 4 times".
 */
export class DoorRecognizer<G extends Gallery, B = unknown> {
  private readonly consensus: BurstConsensus<Frame>;
  private chosen?: EngineSelection;
  private known?: G;
  private ready = false;
  private closing = false;
  private inFlight = 0;
  private idle?: () => void;
  private readonly cleanups: Array<() => void> = [];

  constructor(
    private readonly settings: RecognizeSettings,
    private readonly wiring: RecognizeWiring<G, B>,
  ) {
    this.consensus = new BurstConsensus<Frame>(settings.burst, (verdict) => this.sendVerdict(verdict));
    wiring.selection.then((chosen) => (this.chosen = chosen), ignore);
    wiring.gallery.then((gallery) => this.watchGallery(gallery), ignore);
    this.cleanups.push(registerHealthCheck(`recognize:${wiring.id}`, () => this.health()));
  }

  /** Closed: no verdict leaves any more, and a failing frame sets no status. */
  get closed(): boolean {
    return this.closing;
  }

  /** Loads the models now (a blank frame runs the detectors, then a face box the descriptor), not on the first press. */
  async warmUp(): Promise<void> {
    try {
      const [, chosen] = await Promise.all([this.wiring.gallery.then((gallery) => gallery.matcherReady), this.wiring.selection]);
      const engine = { ...chosen, policy: 'wait' as const, lane: 'doorbell' as const };
      await embedFaces(this.wiring.pool, BLANK, engine);
      await embedFaces(this.wiring.pool, BLANK, { ...engine, faces: [BLANK_FACE] });
    } catch (err) {
      this.wiring.models.failed(err);
      if (!this.closing) this.wiring.failedToLoad(err as Error);
      return;
    }
    this.wiring.models.loaded();
    this.ready = true;
    if (!this.closing) this.wiring.ready(this.readiness());
  }

  /**
   * Recognizes one frame and adds its votes to its event's burst (a frame
   * without `msg.event` is an event of its own, decided at once); `send` gets
   * the frame itself with `perFrame`. Resolves once the frame is counted (the
   * verdict may leave later); a frame the pool dropped (back-pressure) counts
   * as seen without votes. A frame of an event already decided is not recognized.
   */
  async frame(msg: FrameMessage, send: (ports: Array<FrameMessage | null>) => void): Promise<void> {
    const receivedAt = Date.now();
    const standalone = !msg.event;
    const event = ensureEvent(msg.event, 'face-recognize', { node: this.wiring.id });
    msg.event = event;
    if (!this.settings.perFrame && this.consensus.isDecided(event.id)) return;
    const place = burstPlaceOf(msg.burst);
    this.inFlight++;
    try {
      const votes = await this.recognize(msg, receivedAt, send).catch((err: unknown) => {
        if (isPorchlightError(err, 'DROPPED')) return [];
        throw err;
      });
      // A node closing drops its bursts: a frame that finishes after that opens none again.
      if (!this.closing) this.consensus.add(event.id, { msg, receivedAt }, votes, { closeNow: standalone, place });
    } finally {
      this.inFlight--;
      if (this.inFlight === 0) this.idle?.();
    }
  }

  /** Resolves when no frame is being recognized (before the database may close). */
  drain(): Promise<void> {
    return this.inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.idle = resolve));
  }

  /** Stops: open bursts are dropped without verdicts, and the health check and gallery watch end. */
  close(): void {
    this.closing = true;
    this.consensus.dispose();
    for (const cleanup of this.cleanups.splice(0)) cleanup();
  }

  /** The distance in force and what it came from, once the engine and the gallery are known. */
  inForce(): ToleranceInForce | undefined {
    return this.chosen && this.known ? this.inForceWith(this.chosen, this.known) : undefined;
  }

  readiness(): Readiness {
    return readiness(this.inForce(), this.known?.matcher.hasCalibration() ?? false);
  }

  /** `/porchlight/health` under `recognize:<id>`: the distance in force and what it came from. */
  health(): ComponentHealth {
    const inForce = this.inForce();
    if (!inForce || !this.chosen || !this.known) return { ok: true, state: 'loading' };
    return toleranceHealth(this.settings.tolerance, this.recognizerOf(this.chosen), inForce, this.known.matcher.hasCalibration());
  }

  /** Enrolments and removals change the gallery, and with it the distance in force: the ready status follows. */
  private watchGallery(gallery: G): void {
    this.known = gallery;
    if (this.closing) return;
    const unsubscribe = gallery.store.onChange(() => {
      gallery.matcherReady.then(() => {
        if (!this.closing && this.ready) this.wiring.ready(this.readiness());
      }, ignore);
    });
    this.cleanups.push(unsubscribe);
  }

  private recognizerOf(chosen: EngineSelection) {
    return { model: modelIdForSelection(chosen), tolerance: chosen.tolerance };
  }

  private inForceWith(chosen: EngineSelection, gallery: G): ToleranceInForce {
    const recognizer = this.recognizerOf(chosen);
    return toleranceInForce(this.settings.tolerance, recognizer, { photosPerPerson: gallery.matcher.photosPerPerson(recognizer.model) });
  }

  private decisionFor(chosen: EngineSelection, gallery: G): DecisionOptions {
    return { tolerance: this.inForceWith(chosen, gallery).tolerance, margin: this.settings.margin };
  }

  /** The frame's faces, each decided (`msg.faces`), and their votes; the frame alone on the fifth output with `perFrame`. */
  private async recognize(msg: FrameMessage, receivedAt: number, send: (ports: Array<FrameMessage | null>) => void): Promise<FaceVote[]> {
    const given = givenFaces(msg.faces);
    let decided: { faces: AnalyzeResult['faces']; decisions: FaceDecision[]; votes: FaceVote[] } = { faces: [], decisions: [], votes: [] };
    if (!given || given.length > 0) {
      const [gallery, chosen] = await Promise.all([this.wiring.gallery, this.wiring.selection]);
      const { faces } = await this.embed(msg.payload, chosen, given);
      await gallery.matcherReady;
      decided = { faces, ...decideFrame(faces, (embedding, model, k) => gallery.matcher.nearest(embedding, model, k), this.decisionFor(chosen, gallery)) };
    }
    msg.faces = facesOfMessage(decided.faces, decided.decisions);
    if (this.settings.perFrame) {
      const frame = this.wiring.clone(msg);
      frame.frameResult = { status: frameStatus(decided.decisions), latencyMs: Date.now() - receivedAt };
      send(framePorts(frame));
    }
    return decided.votes;
  }

  private embed(image: unknown, chosen: EngineSelection, faces: ReturnType<typeof givenFaces>): Promise<AnalyzeResult> {
    const { models } = this.wiring;
    const request = {
      detector: chosen.detector,
      detectorConfig: chosen.detectorConfig,
      recognizer: chosen.recognizer,
      recognizerConfig: chosen.recognizerConfig,
      faces,
      // Faces come back re-ordered by quality, so their crops are cut again rather than matched up with the input's.
      cropSize: FACE_CROP_SIZE,
      flip: this.settings.flip,
      maxPixels: this.settings.maxPixels,
      policy: this.settings.policy,
      lane: 'doorbell' as const,
    };
    return embedFaces(this.wiring.pool, image, request).then(
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
  }

  /** Sends the verdict on its port once its unknown faces are filed with the recurring visitors; the status first. */
  private sendVerdict(verdict: BurstVerdict<Frame>): void {
    if (this.closing) return;
    const { msg, receivedAt } = verdict.bestFrame;
    const out = this.settings.perFrame ? this.wiring.clone(msg) : msg;
    const verdictOut = verdictOfMessage(verdict, Math.min(receivedAt, verdict.firstFrameAt));
    out.verdict = verdictOut;
    const ports = verdictPorts(verdict.status, out, this.settings.perFrame);
    this.fileVisitors(out)
      .catch((err: Error) => this.wiring.warn(`recurring visitors: ${err.message}`))
      .finally(() => {
        if (!this.closing) this.wiring.send(ports);
      });
    this.wiring.decided(verdictOut);
  }

  /** Files the verdict's unknown faces with the door's recurring visitors, within a share of the distance in force. */
  private fileVisitors(out: FrameMessage): Promise<unknown> {
    const { visitors } = this.wiring;
    return visitors.file(out as unknown as FiledVerdict, this.settings.burst.minQuality, async () => {
      const [gallery, chosen] = await Promise.all([this.wiring.gallery, this.wiring.selection]);
      return this.closing ? undefined : { book: visitors.bookOf(gallery), tolerance: this.decisionFor(chosen, gallery).tolerance };
    });
  }
}
