import type { FaceDecision, FaceMatch, FaceStatus } from './decision';

/**
 * Burst consensus: the frames of one doorbell event (same `msg.event.id`) are
 * decided together. Each face votes for its decision with a weight of its
 * quality cubed times the decision's confidence; the verdict leaves once per event,
 * as soon as it is certain (early exit) or when the window closes (N frames
 * or M milliseconds after the first frame). Pure logic: the clock is the
 * global one (`Date.now`, `setTimeout`), so tests drive it with fake timers.
 */

export type VerdictStatus = FaceStatus | 'no_face';

/** One face of a frame, as the consensus sees it. */
export interface FaceVote {
  /** 0..1 quality score of the face. */
  quality: number;
  decision: FaceDecision;
}

export interface PersonTally {
  personId: number;
  name: string;
  list: FaceMatch['list'];
  /** Smallest distance seen for this person in the event. */
  distance: number;
  confidence: number;
  /** Sum of the weights of the faces that voted for this person. */
  votes: number;
}

export interface BurstVerdict<F> {
  eventId: string;
  status: VerdictStatus;
  /** The people the verdict is about: the blacklisted or known winner(s), best first. */
  people: PersonTally[];
  framesSeen: number;
  /** The frame whose best face weighed most for the verdict (or the last frame when none had a face). */
  bestFrame: F;
  /** Why the window closed: an early certain verdict, the frame count, or the time. */
  reason: 'certain' | 'frames' | 'timeout' | 'flush';
  firstFrameAt: number;
  decidedAt: number;
}

export interface BurstOptions {
  /** The window closes after this many frames of one event (1 = decide every frame on its own). */
  maxFrames: number;
  /** ... or this long after its first frame. */
  windowMs: number;
  /**
   * Early exit: a known or blacklisted person whose summed vote weight reaches
   * this is certain, provided no other identity holds a third of as much.
   */
  certainty: number;
  /** Faces under this quality do not vote (they still count as seen). */
  minQuality: number;
  /** How long a decided event's id is remembered so that its late frames are ignored. */
  rememberMs: number;
}

export const DEFAULT_BURST: BurstOptions = { maxFrames: 5, windowMs: 2000, certainty: 0.9, minQuality: 0.3, rememberMs: 60_000 };

/** Blacklisted faces need only half the evidence: a missed blacklist is the costliest error. */
const BLACKLIST_CERTAINTY_FACTOR = 0.5;
/** Unknown votes count for less than matches, so that one poor frame does not outvote a clear match. */
const UNKNOWN_VOTE_FACTOR = 0.6;

interface OpenEvent<F> {
  eventId: string;
  firstFrameAt: number;
  frames: number;
  people: Map<number, PersonTally>;
  unknownVotes: number;
  /** Faces seen, voting or not: a frame of poor faces is not a frame without a face. */
  faces: number;
  /** The heaviest single vote so far and its frame. */
  best?: { weight: number; frame: F };
  lastFrame: F;
  timer: ReturnType<typeof setTimeout>;
}

export class BurstConsensus<F> {
  private readonly open = new Map<string, OpenEvent<F>>();
  /** Decided event ids and when they were decided. */
  private readonly decided = new Map<string, number>();

  constructor(
    private readonly options: BurstOptions,
    private readonly onVerdict: (verdict: BurstVerdict<F>) => void,
  ) {}

  /**
   * Adds one frame's faces to its event. Returns `late` for a frame of an
   * event already decided (it is not voted), otherwise `open` or `decided`.
   * `closeNow` decides the event with this frame (a frame no other can join).
   */
  add(eventId: string, frame: F, faces: readonly FaceVote[], options: { closeNow?: boolean } = {}): 'open' | 'decided' | 'late' {
    this.forgetOld();
    if (this.decided.has(eventId)) return 'late';
    let event = this.open.get(eventId);
    if (!event) {
      event = {
        eventId,
        firstFrameAt: Date.now(),
        frames: 0,
        people: new Map(),
        unknownVotes: 0,
        faces: 0,
        lastFrame: frame,
        timer: setTimeout(() => this.close(eventId, 'timeout'), this.options.windowMs),
      };
      this.open.set(eventId, event);
    }
    event.frames++;
    event.faces += faces.length;
    event.lastFrame = frame;
    // Best-quality faces first, so the heaviest vote of the frame is counted first.
    for (const face of [...faces].sort((a, b) => b.quality - a.quality)) this.vote(event, frame, face);
    if (this.isCertain(event)) {
      this.close(eventId, 'certain');
      return 'decided';
    }
    if (options.closeNow || event.frames >= this.options.maxFrames) {
      this.close(eventId, 'frames');
      return 'decided';
    }
    return 'open';
  }

  private vote(event: OpenEvent<F>, frame: F, face: FaceVote): void {
    if (face.quality < this.options.minQuality) return;
    const { decision } = face;
    // Quality cubed: one sharp frontal shot outweighs several blurred ones, whatever they seem to say.
    let weight = face.quality ** 3 * decision.confidence;
    if (decision.status === 'unknown' || !decision.match) {
      weight *= UNKNOWN_VOTE_FACTOR;
      event.unknownVotes += weight;
    } else {
      const m = decision.match;
      const tally = event.people.get(m.personId) ?? { personId: m.personId, name: m.name, list: m.list, distance: m.distance, confidence: m.confidence, votes: 0 };
      tally.votes += weight;
      if (m.distance < tally.distance) {
        tally.distance = m.distance;
        tally.confidence = m.confidence;
      }
      event.people.set(m.personId, tally);
    }
    if (!event.best || weight > event.best.weight) event.best = { weight, frame };
  }

  private ranked(event: OpenEvent<F>): PersonTally[] {
    return [...event.people.values()].sort((a, b) => b.votes - a.votes);
  }

  private isCertain(event: OpenEvent<F>): boolean {
    const [leader, runnerUp] = this.ranked(event);
    if (!leader) return false;
    const needed = this.options.certainty * (leader.list === 'blacklist' ? BLACKLIST_CERTAINTY_FACTOR : 1);
    const rival = Math.max(runnerUp?.votes ?? 0, event.unknownVotes);
    return leader.votes >= needed && rival * 3 <= leader.votes;
  }

  private verdictOf(event: OpenEvent<F>): Pick<BurstVerdict<F>, 'status' | 'people'> {
    const ranked = this.ranked(event);
    const blacklisted = ranked.filter((p) => p.list === 'blacklist');
    // Blacklist priority: any blacklisted person with votes decides the event.
    if (blacklisted.length > 0) return { status: 'blacklisted', people: blacklisted };
    const known = ranked.filter((p) => p.list === 'known');
    if (known.length > 0 && known[0].votes >= event.unknownVotes) return { status: 'known', people: known };
    if (event.faces > 0) return { status: 'unknown', people: [] };
    return { status: 'no_face', people: [] };
  }

  private close(eventId: string, reason: BurstVerdict<F>['reason']): void {
    const event = this.open.get(eventId);
    if (!event) return;
    clearTimeout(event.timer);
    this.open.delete(eventId);
    this.decided.set(eventId, Date.now());
    const { status, people } = this.verdictOf(event);
    this.onVerdict({
      eventId,
      status,
      people,
      framesSeen: event.frames,
      bestFrame: event.best?.frame ?? event.lastFrame,
      reason,
      firstFrameAt: event.firstFrameAt,
      decidedAt: Date.now(),
    });
  }

  private forgetOld(): void {
    const horizon = Date.now() - this.options.rememberMs;
    for (const [id, at] of this.decided) {
      if (at >= horizon) break;
      this.decided.delete(id);
    }
  }

  /** Events whose window is still open. */
  get pending(): number {
    return this.open.size;
  }

  /** Decides every open event now (e.g. on shutdown, when their verdicts should still leave). */
  flush(): void {
    for (const id of [...this.open.keys()]) this.close(id, 'flush');
  }

  /** Drops every open event without a verdict and stops the timers. */
  dispose(): void {
    for (const event of this.open.values()) clearTimeout(event.timer);
    this.open.clear();
    this.decided.clear();
  }
}
