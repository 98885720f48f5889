import type { BurstPlace } from '../camera/burst';
import type { FaceDecision, FaceMatch, FaceStatus } from './decision';

/**
 * Burst consensus: the frames of one doorbell event (same `msg.event.id`) are
 * decided together. Each face votes for its decision with a weight of its
 * quality cubed times the decision's confidence; the verdict leaves once per
 * event, as soon as it can:
 * - at once on one clear face: a blacklisted face, or a known face well inside
 *   the tolerance in force (`clearShare` of it), when the tally agrees;
 * - when the votes make one person certain;
 * - on the burst's last frame: frames that carry their place in the burst
 *   (`msg.burst = {index, count}` from frame-buffer) close the window once
 *   every frame of the burst has been seen;
 * - else when the window closes (N frames, or M milliseconds after the first
 *   frame: a burst whose later frames never come).
 * Frames of an event already decided are `late` and ignored. Pure logic: the
 * clock is the global one (`Date.now`, `setTimeout`), so tests drive it with
 * fake timers.
 */

export type VerdictStatus = FaceStatus | 'no_face';

/** One face of a frame, as the consensus sees it. */
export interface FaceVote {
  /** 0..1 quality score of the face. */
  quality: number;
  decision: FaceDecision;
  /**
   * The tolerance in force for the decision's match (calibrated, else the
   * node's): a known face is clear within `clearShare` of it. Without it a
   * known face never decides at once.
   */
  tolerance?: number;
}

/** A frame's place in its burst (`msg.burst` from frame-buffer). */
export type { BurstPlace };

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
  /**
   * Why the window closed: one clear face (`clear`), votes that made one
   * person certain, the burst's last frame seen (`last`), the frame count,
   * the time, or a flush.
   */
  reason: 'clear' | 'certain' | 'last' | 'frames' | 'timeout' | 'flush';
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
  /** Decide at once on one clear face (a blacklisted one, or a known one within `clearShare` of its tolerance). */
  atOnce: boolean;
  /** A known face is clear at a distance of at most this share of the tolerance in force. */
  clearShare: number;
}

export const DEFAULT_BURST: BurstOptions = { maxFrames: 5, windowMs: 2000, certainty: 0.9, minQuality: 0.3, rememberMs: 60_000, atOnce: true, clearShare: 0.85 };

/**
 * Whether one face alone may decide its event: it votes (quality at least
 * `minQuality`) and is blacklisted, or known at a distance of at most
 * `clearShare` of the tolerance in force. A clear known face is a subset of
 * the faces the per-face decision accepts, so deciding on it at once never
 * names a stranger the burst would not have named; what it gives up is later
 * frames outvoting it.
 */
export function isClearFace(face: FaceVote, options: Pick<BurstOptions, 'minQuality' | 'clearShare'>): boolean {
  if (face.quality < options.minQuality) return false;
  const { status, match } = face.decision;
  if (status === 'blacklisted') return match !== undefined;
  return status === 'known' && match !== undefined && face.tolerance !== undefined && match.distance <= options.clearShare * face.tolerance;
}

/** `msg.burst` when it is a valid place (a whole index below a positive count), else undefined. */
export function burstPlaceOf(value: unknown): BurstPlace | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const { index, count } = value as Record<string, unknown>;
  if (!Number.isInteger(index) || !Number.isInteger(count)) return undefined;
  return (index as number) >= 0 && (index as number) < (count as number) ? { index: index as number, count: count as number } : undefined;
}

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
  /** The burst's size as its frames announce it (the smallest count seen: a missed slot lowers it). */
  expected?: number;
  /** The places in the burst seen so far. */
  places: Set<number>;
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
   * `closeNow` decides the event with this frame (a frame no other can join);
   * `place` is the frame's place in its burst.
   */
  add(eventId: string, frame: F, faces: readonly FaceVote[], options: { closeNow?: boolean; place?: BurstPlace } = {}): 'open' | 'decided' | 'late' {
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
        places: new Set(),
      };
      this.open.set(eventId, event);
    }
    event.frames++;
    event.faces += faces.length;
    event.lastFrame = frame;
    // Best-quality faces first, so the heaviest vote of the frame is counted first.
    for (const face of [...faces].sort((a, b) => b.quality - a.quality)) this.vote(event, frame, face);
    const { place } = options;
    if (place) {
      event.places.add(place.index);
      event.expected = Math.min(event.expected ?? place.count, place.count);
    }
    const reason = this.closingReason(event, faces, options.closeNow === true);
    if (!reason) return 'open';
    this.close(eventId, reason);
    return 'decided';
  }

  /** Whether the event can be decided now that this frame's faces are in, and why. */
  private closingReason(event: OpenEvent<F>, faces: readonly FaceVote[], closeNow: boolean): BurstVerdict<F>['reason'] | undefined {
    if (this.options.atOnce && this.clearFaceLeads(event, faces)) return 'clear';
    if (this.isCertain(event)) return 'certain';
    if (closeNow || event.frames >= this.options.maxFrames) return 'frames';
    if (event.expected !== undefined && event.places.size >= event.expected) return 'last';
    return undefined;
  }

  /** A clear face in this frame whose verdict the tally agrees with (a clear known face outvoted by unknown ones does not decide). */
  private clearFaceLeads(event: OpenEvent<F>, faces: readonly FaceVote[]): boolean {
    const clear = faces.filter((face) => isClearFace(face, this.options));
    if (clear.length === 0) return false;
    const { status, people } = this.verdictOf(event);
    // Blacklist priority: any blacklisted face makes the verdict blacklisted, whoever leads the blacklisted tally.
    return clear.some((face) => face.decision.status === status && (status === 'blacklisted' || people[0]?.personId === face.decision.match?.personId));
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

  /** Whether this event has had its verdict (its frames are late: the node need not recognize them). */
  isDecided(eventId: string): boolean {
    this.forgetOld();
    return this.decided.has(eventId);
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
