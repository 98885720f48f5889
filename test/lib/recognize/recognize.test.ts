import assert from 'node:assert/strict';
import sinon from 'sinon';
import { BurstConsensus, burstPlaceOf, DEFAULT_BURST, isClearFace, type BurstVerdict, type FaceVote } from '../../../lib/recognize/burst';
import { decideFace, matchConfidence, type MatchCandidate } from '../../../lib/recognize/decision';

const alice: MatchCandidate = { personId: 1, name: 'Alice', list: 'known', distance: 0.4 };
const bob: MatchCandidate = { personId: 2, name: 'Bob', list: 'known', distance: 0.52 };
const mallory: MatchCandidate = { personId: 3, name: 'Mallory', list: 'blacklist', distance: 0.55 };

describe('face decision (tolerance, margin, blacklist priority)', () => {
  it('accepts the nearest person within tolerance and clear of the next one', () => {
    const d = decideFace([bob, alice]);
    assert.equal(d.status, 'known');
    assert.equal(d.match?.name, 'Alice');
    assert.ok(d.confidence > 0.9 && d.confidence < 1);
  });

  it('calls a face unknown when nobody is within tolerance, keeping the nearest for reference', () => {
    const d = decideFace([{ ...alice, distance: 0.71 }]);
    assert.equal(d.status, 'unknown');
    assert.equal(d.reason, 'no-one-close');
    assert.equal(d.match?.name, 'Alice');
  });

  it('calls a face unknown when two people are too close to call', () => {
    const d = decideFace([alice, { ...bob, distance: 0.42 }], { tolerance: 0.6, margin: 0.05 });
    assert.equal(d.status, 'unknown');
    assert.equal(d.reason, 'ambiguous');
    assert.equal(decideFace([alice, { ...bob, distance: 0.42 }], { tolerance: 0.6, margin: 0 }).status, 'known');
  });

  it('puts a blacklisted person within tolerance before a nearer known one', () => {
    const d = decideFace([alice, mallory]);
    assert.equal(d.status, 'blacklisted');
    assert.equal(d.match?.name, 'Mallory');
    assert.equal(decideFace([alice, { ...mallory, distance: 0.65 }]).status, 'known');
  });

  it('says empty-db when there is no one to compare with', () => {
    assert.deepEqual(decideFace([]), { status: 'unknown', confidence: 1, reason: 'empty-db' });
  });

  it('confidence is 0.5 at the tolerance and falls with distance', () => {
    assert.equal(matchConfidence(0.6, 0.6), 0.5);
    assert.ok(matchConfidence(0.3, 0.6) > matchConfidence(0.5, 0.6));
    assert.ok(matchConfidence(0.8, 0.6) < 0.05);
  });
});

function vote(candidates: MatchCandidate[], quality: number): FaceVote {
  return { quality, decision: decideFace(candidates) };
}

describe('burst consensus', () => {
  let clock: sinon.SinonFakeTimers;
  let verdicts: Array<BurstVerdict<string>>;
  let burst: BurstConsensus<string>;

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 1_000_000 });
    verdicts = [];
    burst = new BurstConsensus<string>({ ...DEFAULT_BURST, maxFrames: 5, windowMs: 2000, certainty: 0.9, minQuality: 0.3 }, (v) => verdicts.push(v));
  });

  afterEach(() => {
    burst.dispose();
    clock.restore();
  });

  it('one good frame among four poor ones decides the event, once, from the good frame', () => {
    burst.add('e1', 'poor-1', [vote([{ ...bob, distance: 0.58 }], 0.2)]);
    burst.add('e1', 'poor-2', [vote([{ ...alice, distance: 0.75 }], 0.25)]);
    burst.add('e1', 'good', [vote([alice], 0.8)]);
    burst.add('e1', 'poor-3', []);
    assert.equal(verdicts.length, 0, 'no verdict before the window closes');
    assert.equal(burst.add('e1', 'poor-4', [vote([{ ...alice, distance: 0.9 }], 0.1)]), 'decided');
    assert.equal(verdicts.length, 1);
    const [v] = verdicts;
    assert.equal(v.status, 'known');
    assert.equal(v.people[0].name, 'Alice');
    assert.equal(v.bestFrame, 'good');
    assert.equal(v.framesSeen, 5);
    assert.equal(v.reason, 'frames');
    assert.equal(burst.add('e1', 'late', [vote([alice], 0.9)]), 'late');
    assert.equal(verdicts.length, 1, 'late frames of a decided event are ignored');
  });

  it('exits early once one person is certain', () => {
    burst.add('e2', 'f1', [vote([alice], 0.8)]);
    assert.equal(verdicts.length, 0);
    assert.equal(burst.add('e2', 'f2', [vote([alice], 0.8)]), 'decided');
    assert.equal(verdicts[0].reason, 'certain');
    assert.equal(verdicts[0].framesSeen, 2);
  });

  it('closes the window after windowMs with what it has', () => {
    burst.add('e3', 'f1', [vote([{ ...alice, distance: 0.8 }], 0.7)]);
    clock.tick(1999);
    assert.equal(verdicts.length, 0);
    clock.tick(1);
    assert.equal(verdicts.length, 1);
    assert.equal(verdicts[0].status, 'unknown');
    assert.equal(verdicts[0].reason, 'timeout');
    assert.equal(verdicts[0].decidedAt - verdicts[0].firstFrameAt, 2000);
  });

  it('gives no_face when no frame held a voting face', () => {
    burst.add('e4', 'f1', []);
    burst.add('e4', 'f2', [], { closeNow: true });
    assert.equal(verdicts[0].status, 'no_face');
    assert.equal(verdicts[0].bestFrame, 'f2');
  });

  it('calls an event of faces too poor to vote unknown, not no_face', () => {
    burst.add('e7', 'f1', [vote([alice], 0.1)], { closeNow: true });
    assert.equal(verdicts[0].status, 'unknown');
  });

  it('lets a blacklisted person win the event over a nearer known one, at once', () => {
    burst.add('e5', 'f1', [vote([alice], 0.9)]);
    assert.equal(burst.add('e5', 'f2', [vote([mallory, alice], 0.9), vote([alice], 0.4)]), 'decided');
    assert.equal(burst.add('e5', 'f3', [vote([mallory], 0.9)]), 'late');
    assert.equal(verdicts.length, 1);
    const v = verdicts[0];
    assert.equal(v.status, 'blacklisted');
    assert.equal(v.reason, 'clear');
    assert.deepEqual(v.people.map((p) => p.name), ['Mallory']);
  });

  it('without "at once", a blacklisted face waits for the votes like any other', () => {
    const patient = new BurstConsensus<string>({ ...DEFAULT_BURST, atOnce: false }, (v) => verdicts.push(v));
    assert.equal(patient.add('e8', 'f1', [vote([mallory], 0.6)]), 'open');
    clock.tick(2000);
    assert.equal(verdicts[0].status, 'blacklisted');
    assert.equal(verdicts[0].reason, 'timeout');
    patient.dispose();
  });

  it('keeps events apart by id', () => {
    burst.add('a', 'a1', [vote([alice], 0.9)], { closeNow: true });
    burst.add('b', 'b1', [vote([bob], 0.9)], { closeNow: true });
    assert.deepEqual(verdicts.map((v) => [v.eventId, v.people[0].name]), [['a', 'Alice'], ['b', 'Bob']]);
  });

  it('dispose drops open events without verdicts or timers', () => {
    burst.add('e6', 'f1', [vote([alice], 0.9)]);
    burst.dispose();
    clock.tick(10_000);
    assert.equal(verdicts.length, 0);
    assert.equal(burst.pending, 0);
  });
});

/** A vote that knows the tolerance in force (0.6, the decision's default), as face-recognize's are. */
function voteIn(candidates: MatchCandidate[], quality: number): FaceVote {
  const decision = decideFace(candidates);
  return { quality, decision, tolerance: decision.match ? 0.6 : undefined };
}

describe('burst: deciding as soon as it can (place in the burst, clear faces)', () => {
  let clock: sinon.SinonFakeTimers;
  let verdicts: Array<BurstVerdict<string>>;
  let burst: BurstConsensus<string>;
  const stranger: MatchCandidate = { ...bob, distance: 0.75 };

  beforeEach(() => {
    clock = sinon.useFakeTimers({ now: 2_000_000 });
    verdicts = [];
    burst = new BurstConsensus<string>({ ...DEFAULT_BURST, maxFrames: 10, windowMs: 1500 }, (v) => verdicts.push(v));
  });

  afterEach(() => {
    burst.dispose();
    clock.restore();
  });

  it('decides on the last frame of the burst, without waiting for the window', () => {
    assert.equal(burst.add('b1', 'f0', [voteIn([stranger], 0.8)], { place: { index: 0, count: 3 } }), 'open');
    assert.equal(burst.add('b1', 'f1', [], { place: { index: 1, count: 3 } }), 'open');
    assert.equal(verdicts.length, 0);
    assert.equal(burst.add('b1', 'f2', [voteIn([stranger], 0.7)], { place: { index: 2, count: 3 } }), 'decided');
    assert.equal(verdicts.length, 1);
    assert.equal(verdicts[0].status, 'unknown');
    assert.equal(verdicts[0].reason, 'last');
    assert.equal(verdicts[0].framesSeen, 3);
    assert.equal(verdicts[0].decidedAt - verdicts[0].firstFrameAt, 0, 'no time passed: the window did not close it');
    clock.tick(5000);
    assert.equal(verdicts.length, 1, 'the window timer was stopped');
  });

  it('frames recognised out of order: the burst is complete only once every place has been seen', () => {
    burst.add('b2', 'f2', [], { place: { index: 2, count: 3 } });
    burst.add('b2', 'f2-again', [], { place: { index: 2, count: 3 } }); // the same frame twice is one place
    assert.equal(verdicts.length, 0, 'the frame that says it is last is not enough on its own');
    burst.add('b2', 'f0', [], { place: { index: 0, count: 3 } });
    assert.equal(burst.add('b2', 'f1', [], { place: { index: 1, count: 3 } }), 'decided');
    assert.equal(verdicts[0].status, 'no_face');
    assert.equal(verdicts[0].reason, 'last');
  });

  it('a slot the camera missed lowers the count: the burst still ends on its last frame', () => {
    // pre-roll 1 and 3 burst slots, the first slot missed: places {0,4}, then {1,3} and {2,3}
    burst.add('b3', 'f0', [voteIn([stranger], 0.8)], { place: { index: 0, count: 4 } });
    burst.add('b3', 'f1', [voteIn([stranger], 0.8)], { place: { index: 1, count: 3 } });
    assert.equal(burst.add('b3', 'f2', [voteIn([stranger], 0.8)], { place: { index: 2, count: 3 } }), 'decided');
    assert.equal(verdicts[0].reason, 'last');
  });

  it('a burst whose later frames never come is decided when its window closes', () => {
    burst.add('b4', 'f0', [voteIn([stranger], 0.8)], { place: { index: 0, count: 3 } });
    burst.add('b4', 'f1', [voteIn([stranger], 0.8)], { place: { index: 1, count: 3 } });
    clock.tick(1499);
    assert.equal(verdicts.length, 0);
    clock.tick(1);
    assert.equal(verdicts.length, 1);
    assert.equal(verdicts[0].reason, 'timeout');
    assert.equal(verdicts[0].framesSeen, 2);
    assert.equal(burst.add('b4', 'f2', [voteIn([alice], 0.9)], { place: { index: 2, count: 3 } }), 'late', 'the missing frame, late, is ignored');
    assert.equal(verdicts.length, 1);
  });

  it('decides at once on a known face well inside the tolerance in force; its later frames are late', () => {
    assert.equal(burst.add('b5', 'f0', [voteIn([alice, bob], 0.6)], { place: { index: 0, count: 5 } }), 'decided');
    assert.equal(verdicts[0].status, 'known');
    assert.equal(verdicts[0].reason, 'clear');
    assert.equal(verdicts[0].people[0].name, 'Alice');
    assert.equal(verdicts[0].framesSeen, 1);
    assert.ok(burst.isDecided('b5'));
    for (let index = 1; index < 5; index++) assert.equal(burst.add('b5', `f${index}`, [voteIn([mallory], 0.9)], { place: { index, count: 5 } }), 'late');
    assert.equal(verdicts.length, 1, 'one verdict, never a second one');
  });

  it('a known face inside the tolerance but not clearly (over 0.85 of it) waits for the rest of the burst', () => {
    assert.equal(burst.add('b6', 'f0', [voteIn([{ ...alice, distance: 0.55 }], 0.6)], { place: { index: 0, count: 2 } }), 'open');
    assert.equal(burst.add('b6', 'f1', [voteIn([{ ...alice, distance: 0.53 }], 0.6)], { place: { index: 1, count: 2 } }), 'decided');
    assert.equal(verdicts[0].status, 'known');
    assert.equal(verdicts[0].reason, 'last');
  });

  it('a clear known face does not decide at once against heavier unknown votes already cast', () => {
    burst.add('b7', 'f0', [voteIn([stranger], 0.95)], { place: { index: 0, count: 3 } });
    assert.equal(burst.add('b7', 'f1', [voteIn([alice], 0.5)], { place: { index: 1, count: 3 } }), 'open');
    assert.equal(burst.add('b7', 'f2', [voteIn([alice], 0.9)], { place: { index: 2, count: 3 } }), 'decided');
    assert.equal(verdicts[0].status, 'known');
  });

  it('a calibrated (per person) tolerance is the one in force for "clear"', () => {
    const strict = { ...alice, distance: 0.4, tolerance: 0.45 };
    const face = { quality: 0.9, decision: decideFace([strict]), tolerance: 0.45 };
    assert.equal(face.decision.status, 'known');
    assert.equal(isClearFace(face, DEFAULT_BURST), false, '0.4 is over 0.85 x 0.45');
    assert.equal(isClearFace({ ...face, tolerance: 0.6 }, DEFAULT_BURST), true);
    assert.equal(isClearFace({ ...face, tolerance: undefined }, DEFAULT_BURST), false, 'without the tolerance in force, never clear');
    assert.equal(isClearFace({ ...face, quality: 0.2 }, DEFAULT_BURST), false, 'a face too poor to vote never decides');
    assert.equal(isClearFace(voteIn([{ ...mallory, distance: 0.59 }], 0.5), DEFAULT_BURST), true, 'any voting blacklisted face');
    assert.equal(isClearFace(voteIn([stranger], 0.9), DEFAULT_BURST), false);
  });

  it('reads msg.burst only when it is a valid place', () => {
    assert.deepEqual(burstPlaceOf({ index: 1, count: 2 }), { index: 1, count: 2 });
    for (const bad of [undefined, null, 3, 'x', {}, { index: 2, count: 2 }, { index: -1, count: 2 }, { index: 0.5, count: 2 }, { index: '0', count: '2' }]) {
      assert.equal(burstPlaceOf(bad), undefined, JSON.stringify(bad));
    }
  });
});
