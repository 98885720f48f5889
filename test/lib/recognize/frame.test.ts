import assert from 'node:assert/strict';
import type { BurstVerdict } from '../../../lib/recognize/burst';
import type { MatchCandidate } from '../../../lib/recognize/decision';
import { decideFrame, facesOfMessage, framePorts, frameStatus, givenFaces, verdictOfMessage, verdictPorts } from '../../../lib/recognize/frame';
import { readiness, toleranceHealth, toleranceInForce } from '../../../lib/recognize/in-force';
import { strangerTolerance } from '../../../lib/recognize/strangers';
import type { EmbeddedFace } from '../../../lib/vision/embedding-types';

/** lib/recognize frame.ts and in-force.ts: face-recognize's per-frame policy and the distance in force, as pure functions. */

const face = (quality: number, embedding?: number[], model = 'faceapi-resnet128'): EmbeddedFace => ({
  box: { x: 10, y: 20, width: 80, height: 90 },
  score: 0.99,
  quality: { score: quality } as EmbeddedFace['quality'],
  embedding: embedding ? Float32Array.from(embedding) : undefined,
  model: embedding ? model : undefined,
});

const sam: MatchCandidate = { personId: 1, name: 'Sam', list: 'known', distance: 0.3 };
const rex: MatchCandidate = { personId: 2, name: 'Rex', list: 'blacklist', distance: 0.5, tolerance: 0.55 };

describe('face-recognize per frame (lib/recognize frame.ts)', () => {
  it('takes face-detect faces that have a box, and tells "no faces given" from "none found"', () => {
    assert.equal(givenFaces(undefined), undefined);
    assert.equal(givenFaces('faces'), undefined);
    assert.deepEqual(givenFaces([]), []);
    const good = { box: { x: 1, y: 2, width: 3, height: 4 }, score: 0.9 };
    assert.deepEqual(givenFaces([good, null, { box: { width: '3' } }, { score: 1 }]), [good]);
  });

  it('a frame alone: blacklisted before known before unknown; no face without decisions', () => {
    assert.equal(frameStatus([]), 'no_face');
    assert.equal(frameStatus([{ status: 'unknown', confidence: 1 }]), 'unknown');
    assert.equal(frameStatus([{ status: 'unknown', confidence: 1 }, { status: 'known', confidence: 0.9 }]), 'known');
    assert.equal(frameStatus([{ status: 'known', confidence: 0.9 }, { status: 'blacklisted', confidence: 0.6 }]), 'blacklisted');
  });

  it('decides each face against its nearest people; a face without embedding is unknown and votes nothing sure', () => {
    const asked: Array<[number, string, number]> = [];
    const nearest = (embedding: Float32Array, model: string, k: number) => {
      asked.push([embedding.length, model, k]);
      return embedding[0] > 0 ? [sam] : [rex, sam];
    };
    const faces = [face(0.8, [1, 0]), face(0.4), face(0.6, [-1, 0])];
    const { decisions, votes } = decideFrame(faces, nearest, { tolerance: 0.45, margin: 0.05 });
    assert.deepEqual(asked, [[2, 'faceapi-resnet128', 5], [2, 'faceapi-resnet128', 5]], 'only embedded faces are matched, against 5 people');
    assert.deepEqual(decisions.map((d) => d.status), ['known', 'unknown', 'blacklisted']);
    assert.deepEqual(decisions[1], { status: 'unknown', confidence: 0 });
    assert.deepEqual(votes.map((v) => v.quality), [0.8, 0.4, 0.6]);
    assert.deepEqual(votes.map((v) => v.tolerance), [0.45, undefined, 0.55], "the node's tolerance, none, the person's calibrated one");
    assert.equal(votes[2].decision, decisions[2]);
  });

  it("builds msg.faces: the crop as a Buffer over the same bytes, the embedding as an array, no match for an unknown", () => {
    const crop = new Uint8Array([0, 0xff, 0xd8, 0xff, 0]).subarray(1, 4);
    const faces: EmbeddedFace[] = [{ ...face(0.9, [0.5, 0.25]), crop, landmarks: [{ x: 1, y: 2 }] } as EmbeddedFace, face(0.2, [0.1])];
    const nearest = () => [{ ...sam, distance: 0.9 }];
    const { decisions } = decideFrame(faces, () => [sam], { tolerance: 0.6, margin: 0.05 });
    const unknown = decideFrame([faces[1]], nearest, { tolerance: 0.6, margin: 0.05 }).decisions[0];
    const [first, second] = facesOfMessage(faces, [decisions[0], unknown]);
    assert.ok(Buffer.isBuffer(first.crop));
    assert.deepEqual([...first.crop!], [0xff, 0xd8, 0xff]);
    assert.equal(first.crop!.buffer, crop.buffer, 'not copied');
    assert.deepEqual(first.embedding, [0.5, 0.25]);
    assert.equal(first.status, 'known');
    assert.equal(first.match?.name, 'Sam');
    assert.deepEqual(first.landmarks, [{ x: 1, y: 2 }]);
    assert.equal(second.status, 'unknown');
    assert.equal(second.match, null, 'the nearest stranger is not sent as a match');
    assert.equal(second.crop, undefined);
  });

  it('builds msg.verdict from a burst verdict: latency from the first frame received, the tallies without their votes', () => {
    const verdict: BurstVerdict<unknown> = {
      eventId: 'e1',
      status: 'known',
      people: [{ personId: 1, name: 'Sam', list: 'known', distance: 0.3, confidence: 0.97, votes: 1.7 }],
      framesSeen: 3,
      bestFrame: {},
      reason: 'certain',
      firstFrameAt: 1000,
      decidedAt: 1640,
    };
    assert.deepEqual(verdictOfMessage(verdict, 900), {
      status: 'known',
      people: [{ personId: 1, name: 'Sam', list: 'known', distance: 0.3, confidence: 0.97 }],
      framesSeen: 3,
      decidedAt: 1640,
      latencyMs: 740,
      reason: 'certain',
    });
  });

  it('routes a verdict to its status output, and a frame to the fifth', () => {
    assert.deepEqual(verdictPorts('known', 'm', false), ['m', null, null, null]);
    assert.deepEqual(verdictPorts('unknown', 'm', false), [null, 'm', null, null]);
    assert.deepEqual(verdictPorts('blacklisted', 'm', true), [null, null, 'm', null, null]);
    assert.deepEqual(verdictPorts('no_face', 'm', true), [null, null, null, 'm', null]);
    assert.deepEqual(framePorts('f'), [null, null, null, null, 'f']);
  });
});

describe('the distance in force (lib/recognize in-force.ts)', () => {
  const gallery = { photosPerPerson: [2, 2, 3, 1] };

  it('a distance set by hand wins over the stranger rate, and health says no rate is in force', () => {
    const inForce = toleranceInForce({ strangersOneIn: 1000, rawTolerance: 0.52 }, { model: 'faceapi-resnet128', tolerance: 0.6 }, gallery);
    assert.deepEqual(inForce, { tolerance: 0.52, text: 'distance 0.52 (set by hand)', short: 'distance 0.52 by hand' });
    const health = toleranceHealth({ strangersOneIn: 1000, rawTolerance: 0.52 }, { model: 'faceapi-resnet128' }, inForce, false);
    assert.deepEqual(health, { ok: true, distance: 0.52, tolerance: 'distance 0.52 (set by hand)', strangersOneIn: null, people: undefined, model: 'faceapi-resnet128', calibrated: false });
  });

  it('from the stranger rate and the gallery when the model has statistics', () => {
    const inForce = toleranceInForce({ strangersOneIn: 1000, rawTolerance: NaN }, { model: 'faceapi-resnet128', tolerance: 0.6 }, gallery);
    const expected = strangerTolerance('faceapi-resnet128', 1000, gallery)!;
    assert.equal(inForce.tolerance, expected.distance);
    assert.equal(inForce.strangers?.people, 4);
    assert.equal(inForce.short, '1 in 1,000 · 4 people');
    assert.match(inForce.text, /^distance 0\.\d\d for 1 in 1,000 · 4 people$/);
    const stricter = toleranceInForce({ strangersOneIn: 100_000, rawTolerance: NaN }, { model: 'faceapi-resnet128' }, gallery);
    assert.ok(stricter.tolerance < inForce.tolerance, 'fewer strangers let through, a smaller distance');
    const one = toleranceInForce({ strangersOneIn: 1000, rawTolerance: NaN }, { model: 'faceapi-resnet128' }, { photosPerPerson: [2] });
    assert.equal(one.short, '1 in 1,000 · 1 person');
    assert.equal(toleranceHealth({ strangersOneIn: 1000, rawTolerance: NaN }, { model: 'faceapi-resnet128' }, inForce, true).strangersOneIn, 1000);
  });

  it("falls back to the recognizer's own distance without statistics for its model, or before the gallery is known", () => {
    const setting = { strangersOneIn: 1000, rawTolerance: NaN };
    assert.deepEqual(toleranceInForce(setting, { model: 'onnx:nobody@0000', tolerance: 1.19 }, gallery), {
      tolerance: 1.19,
      text: "distance 1.19 (the recognizer's; no stranger statistics for onnx:nobody@0000)",
      short: 'distance 1.19',
    });
    assert.equal(toleranceInForce(setting, { model: 'faceapi-resnet128', tolerance: 0.6 }).tolerance, 0.6, 'no gallery yet');
    assert.equal(toleranceInForce(setting, { model: 'onnx:nobody@0000' }).tolerance, 0.6, 'the default decision tolerance');
  });

  it('the ready status: plain until known, the rate in force, or that a calibrated tolerance is', () => {
    const inForce = toleranceInForce({ strangersOneIn: 1000, rawTolerance: NaN }, { model: 'faceapi-resnet128' }, gallery);
    assert.deepEqual(readiness(undefined, true), { text: 'ready' });
    assert.deepEqual(readiness(inForce, false), { text: 'ready · 1 in 1,000 · 4 people', detail: `ready: ${inForce.text}` });
    assert.deepEqual(readiness(inForce, true), { text: 'ready · calibrated tolerance', detail: `ready: ${inForce.text} · calibrated tolerance in force` });
  });
});
