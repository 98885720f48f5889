import assert from 'node:assert/strict';
import sinon from 'sinon';
import { BurstConsensus, DEFAULT_BURST, type BurstVerdict, type FaceVote } from '../lib/recognize/burst';
import { decideFace, matchConfidence, type MatchCandidate } from '../lib/recognize/decision';

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

  it('lets a blacklisted person win the event over a nearer known one', () => {
    burst.add('e5', 'f1', [vote([alice], 0.9)]);
    assert.equal(burst.add('e5', 'f2', [vote([mallory, alice], 0.9), vote([alice], 0.4)]), 'open');
    burst.add('e5', 'f3', [vote([mallory], 0.9)]);
    clock.tick(2000);
    const v = verdicts[0];
    assert.equal(v.status, 'blacklisted');
    assert.deepEqual(v.people.map((p) => p.name), ['Mallory']);
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
