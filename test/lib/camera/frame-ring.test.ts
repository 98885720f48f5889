import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sinon from 'sinon';
import { Burst, cameraPeriodMs, type BurstPlace, type BurstSummary } from '../../../lib/camera/burst';
import { FrameRing, type StoredFrame } from '../../../lib/camera/frame-ring';
import { gifFramesAsJpeg, readJpegs } from '../../support/mjpeg-server';
import { lfwDir, lfwPeople, videosDir } from '../../support/paths';

describe('frame ring and bursts', function () {
  this.timeout(60_000);
  let jpegs: Buffer[];

  before(async () => {
    // Real frames of varied sizes: GIF pages of two clips and LFW portraits.
    const gifs = [
      ...(await gifFramesAsJpeg(path.join(videosDir, 'head-pose-face-detection-female.gif'), 20)),
      ...(await gifFramesAsJpeg(path.join(videosDir, 'classroom.gif'), 20)),
    ];
    const portraits = lfwPeople().slice(0, 60).map((person) => path.join(lfwDir, person, fs.readdirSync(path.join(lfwDir, person)).sort()[0]));
    jpegs = [...gifs, ...readJpegs(portraits)];
  });

  describe('ring', () => {
    it('1,000 frames in: never more bytes than the budget nor frames than the count; the newest kept', () => {
      const maxBytes = 300 * 1024;
      const ring = new FrameRing({ maxFrames: 60, maxBytes });
      let peakBytes = 0;
      const pushed: StoredFrame[] = [];
      for (let i = 0; i < 1000; i++) {
        const frame = ring.push(jpegs[(i * 7) % jpegs.length], 1_000_000 + i * 66);
        if (frame) pushed.push(frame);
        peakBytes = Math.max(peakBytes, ring.bytes);
        assert.ok(ring.bytes <= maxBytes, `bytes ${ring.bytes} over budget at frame ${i}`);
        assert.ok(ring.size <= 60);
      }
      assert.ok(peakBytes > maxBytes * 0.8, `the budget is used (peak ${peakBytes})`);
      const held = ring.recent(ring.size);
      assert.equal(held.reduce((sum, f) => sum + f.jpeg.length, 0), ring.bytes, 'the byte count matches the frames held');
      assert.deepEqual(held, pushed.slice(-held.length), 'the newest frames, oldest first');
      assert.equal(ring.latest(), pushed.at(-1));
    });

    it('a frame larger than the whole budget is refused and counted; count bound alone also evicts', () => {
      const ring = new FrameRing({ maxFrames: 3, maxBytes: 1_000_000 });
      const big = Buffer.concat([jpegs[0], Buffer.alloc(1_000_000)]);
      assert.equal(ring.push(big), undefined);
      assert.equal(ring.oversized, 1);
      for (let i = 0; i < 5; i++) ring.push(jpegs[i], i);
      assert.deepEqual(ring.recent(10).map((f) => f.capturedAt), [2, 3, 4]);
    });

    it('stores frames as received, with size from the JPEG header', () => {
      const ring = new FrameRing({ maxFrames: 5, maxBytes: 10_000_000 });
      const lfw = ring.push(jpegs[jpegs.length - 1])!;
      assert.equal(lfw.jpeg, jpegs[jpegs.length - 1], 'the same Buffer: never decoded or re-encoded');
      assert.deepEqual([lfw.width, lfw.height], [250, 250]);
    });
  });

  describe('burst (fake timers)', () => {
    let clock: sinon.SinonFakeTimers;
    beforeEach(() => {
      clock = sinon.useFakeTimers({ now: 1_700_000_000_000 });
    });
    afterEach(() => clock.restore());

    /** A 15 fps camera feeding the ring from the fake clock. */
    function camera(ring: FrameRing, fps = 15) {
      let i = 0;
      const timer = setInterval(() => ring.push(jpegs[i++ % jpegs.length]), 1000 / fps);
      return () => clearInterval(timer);
    }

    function run(ring: FrameRing, options: { preRoll: number; count: number; intervalMs: number }) {
      const out: { frame: StoredFrame; preRoll: boolean; sentAt: number; place: BurstPlace }[] = [];
      let summary: BurstSummary | undefined;
      const triggeredAt = Date.now();
      new Burst(ring, options, (frame, preRoll, place) => out.push({ frame, preRoll, sentAt: Date.now(), place }), (s) => (summary = s));
      return { out, triggeredAt, summary: () => summary };
    }

    it('pre-roll: the last P frames before the trigger, oldest first, sent at once', () => {
      const ring = new FrameRing({ maxFrames: 45, maxBytes: 50e6 });
      const stop = camera(ring);
      clock.tick(3_000); // 45 frames in
      const { out, triggeredAt } = run(ring, { preRoll: 5, count: 0, intervalMs: 200 });
      stop();
      assert.equal(out.length, 5);
      assert.ok(out.every((o) => o.preRoll && o.sentAt === triggeredAt), 'all pre-roll frames leave in the trigger tick');
      const times = out.map((o) => o.frame.capturedAt);
      assert.deepEqual(times, [...times].sort((a, b) => a - b), 'oldest first');
      assert.ok(times.every((t) => t <= triggeredAt && t > triggeredAt - 5 * 67), 'the last 5 frames before the trigger');
      assert.deepEqual(out.map((o) => o.frame.seq), ring.recent(5).map((f) => f.seq));
    });

    it('burst: N new frames, spaced by the interval, never a pre-roll frame again', () => {
      const ring = new FrameRing({ maxFrames: 45, maxBytes: 50e6 });
      const stop = camera(ring);
      clock.tick(2_000);
      const { out, triggeredAt, summary } = run(ring, { preRoll: 3, count: 5, intervalMs: 200 });
      clock.tick(2_000);
      stop();
      const burst = out.filter((o) => !o.preRoll);
      assert.equal(burst.length, 5);
      assert.deepEqual(summary(), { preRoll: 3, burst: 5, missed: 0 });
      const seqs = out.map((o) => o.frame.seq);
      assert.equal(new Set(seqs).size, seqs.length, 'no frame twice');
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
      burst.forEach((o, k) => {
        assert.ok(o.frame.capturedAt > triggeredAt, 'captured after the trigger');
        // slot k opens at trigger + k*200 ms; its frame is the next one from a 15 fps camera (<= 67 ms later)
        assert.ok(o.sentAt >= triggeredAt + k * 200 && o.sentAt <= triggeredAt + k * 200 + 67, `frame ${k} sent ${o.sentAt - triggeredAt} ms after the trigger`);
      });
      assert.deepEqual(out.map((o) => o.place), [...Array(8).keys()].map((index) => ({ index, count: 8 })), 'each frame knows its place; the last says so');
    });

    it('a camera slower than the interval: the slot waits for its next frame (the demo lost one frame in three)', () => {
      const ring = new FrameRing({ maxFrames: 45, maxBytes: 50e6 });
      const stop = camera(ring, 5); // one frame every 200 ms
      clock.tick(2_000);
      assert.equal(cameraPeriodMs(ring), 200);
      for (const offset of [0, 50, 120, 190]) {
        const sinceFrame = Date.now() - ring.latest()!.capturedAt;
        if (sinceFrame > 0) clock.tick(200 - sinceFrame); // to the camera's next frame
        clock.tick(offset); // the trigger comes `offset` ms after the camera's last frame
        const { out, triggeredAt, summary } = run(ring, { preRoll: 1, count: 1, intervalMs: 150 });
        clock.tick(400);
        assert.deepEqual(summary(), { preRoll: 1, burst: 1, missed: 0 }, `trigger ${offset} ms after a frame`);
        assert.deepEqual(out.map((o) => o.place), [{ index: 0, count: 2 }, { index: 1, count: 2 }]);
        assert.ok(out[1].sentAt - triggeredAt <= 200, 'the burst frame leaves as soon as it arrives');
      }
      stop();
    });

    it('a stalled camera: missed slots are counted and the burst still ends on time', () => {
      const ring = new FrameRing({ maxFrames: 45, maxBytes: 50e6 });
      const stop = camera(ring);
      clock.tick(1_000);
      stop(); // the camera stalls at the trigger
      const { out, summary } = run(ring, { preRoll: 2, count: 4, intervalMs: 250 });
      clock.tick(600);
      ring.push(jpegs[0]); // one late frame lands in slot 3 (slots open at 0, 250, 500 and 750 ms)
      assert.equal(summary(), undefined, 'still open');
      clock.tick(400);
      assert.deepEqual(summary(), { preRoll: 2, burst: 1, missed: 3 });
      assert.equal(out.length, 3);
      // Two slots missed before the late frame lower its count; the last two missed too, so no frame says it is the last.
      assert.deepEqual(out.map((o) => o.place), [{ index: 0, count: 6 }, { index: 1, count: 6 }, { index: 2, count: 4 }]);
      assert.equal(ring.listenerCount('frame'), 0, 'the burst stops following the ring');
    });
  });
});
