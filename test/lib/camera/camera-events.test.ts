import assert from 'node:assert/strict';
import fs from 'node:fs';
import { CameraWatch, openCamera, type CameraSettings } from '../../../lib/camera/camera';
import { createFrameSource } from '../../../lib/camera/camera';
import { EventFrames, frameIn, MAX_CONCURRENT_BURSTS } from '../../../lib/camera/event-frames';
import { FrameRing } from '../../../lib/camera/frame-ring';
import { MjpegHttpSource } from '../../../lib/camera/mjpeg-source';
import { isPorchlightError } from '../../../lib/errors';
import { lfwImage } from '../../support/paths';
import { waitUntil } from '../../support/wait';

const LFW = [lfwImage('Aaron_Eckhart', 1), lfwImage('Abdullah_Gul', 1), lfwImage('Adam_Sandler', 1), lfwImage('Al_Gore', 2), lfwImage('Alan_Greenspan', 1)].map((file) => fs.readFileSync(file));

const camera = (over: Partial<CameraSettings>): CameraSettings => ({ fps: 10, width: 0, height: 720, snapshotIntervalMs: 500, staleAfterMs: 5_000, ...over });

/** A ring holding the LFW frames, oldest first. */
function ringOf(frames: Buffer[]): FrameRing {
  const ring = new FrameRing({ maxFrames: 20, maxBytes: 10 * 1024 * 1024 });
  for (const jpeg of frames) ring.push(jpeg);
  return ring;
}

describe('camera: the source a frame-buffer asks for', () => {
  it('messages need no source; a camera kind needs its URL or input (BAD_INPUT)', () => {
    assert.equal(createFrameSource(camera({ kind: 'msg' })), undefined);
    assert.equal(createFrameSource(camera({})), undefined);
    assert.throws(() => createFrameSource(camera({ kind: 'mjpeg', url: '  ' })), (err) => isPorchlightError(err) && err.code === 'BAD_INPUT' && err.message === 'set the camera URL');
    assert.throws(() => createFrameSource(camera({ kind: 'snapshot' })), /set the camera URL/);
    assert.throws(() => createFrameSource(camera({ kind: 'ffmpeg' })), /set the ffmpeg input/);
  });

  it('each kind makes its own source, its label naming where the frames come from', () => {
    const mjpeg = createFrameSource(camera({ kind: 'mjpeg', url: ' http://door.local/stream ' }));
    assert.ok(mjpeg instanceof MjpegHttpSource);
    assert.equal(mjpeg.label, 'MJPEG http://door.local/stream');
    assert.match(createFrameSource(camera({ kind: 'snapshot', url: 'http://door.local/snap.jpg' }))!.label, /^snapshot http:\/\/door\.local\/snap\.jpg/);
    assert.match(createFrameSource(camera({ kind: 'ffmpeg', input: 'rtsp://door/1' }))!.label, /ffmpeg/);
    assert.match(createFrameSource(camera({ kind: 'rpicam' }))!.label, /rpicam-vid/);
  });

  it('a source that cannot be made leaves the camera in error, with the problem to warn about', () => {
    const ring = ringOf([]);
    const { camera: watch, problem } = openCamera(ring, { ...camera({ kind: 'mjpeg' }), fromMessages: false });
    assert.equal(problem, 'camera source not usable: set the camera URL');
    assert.deepEqual(watch.status(), { tone: 'error', text: 'set the camera URL' });
    const health = watch.health();
    assert.equal(health.ok, false);
    assert.equal(health.source, 'messages');
    assert.equal(health.detail, 'set the camera URL');
    assert.equal(watch.whyNoFrames(), 'set the camera URL');
  });
});

describe('camera: the status and health of a frame-buffer camera', () => {
  it('fed by messages: waiting until the first frame, then streaming with the frame count', () => {
    const ring = ringOf([]);
    const { camera: watch, problem } = openCamera(ring, { ...camera({ kind: 'msg' }), fromMessages: true });
    assert.equal(problem, undefined);
    assert.deepEqual(watch.status(), { tone: 'idle', text: 'waiting for frames (messages)' });
    ring.push(LFW[0]);
    const status = watch.status();
    assert.equal(status.tone, 'ready');
    assert.match(status.text, /^streaming \d+\.\d fps · 1 frame$/);
    ring.push(LFW[1]);
    assert.match(watch.status().text, /· 2 frames$/);
    // Fed by messages, an old frame is not stale: messages come when they come.
    assert.equal(watch.health(Date.now() + 60_000).ok, true);
    assert.equal(watch.whyNoFrames(), 'no frames buffered');
  });

  it('a camera of its own: connecting, stale without frames (retrying), each new problem logged once', () => {
    const ring = ringOf([]);
    const { camera: watch } = openCamera(ring, { ...camera({ kind: 'mjpeg', url: 'http://door.local/stream', staleAfterMs: 1_000 }), fromMessages: false });
    assert.deepEqual(watch.status(), { tone: 'idle', text: 'connecting to camera' });
    assert.equal(watch.changed('reconnecting', 'connection refused (retry in 1 s)'), 'MJPEG http://door.local/stream: reconnecting: connection refused (retry in 1 s)');
    assert.equal(watch.changed('reconnecting', 'connection refused (retry in 1 s)'), undefined, 'the same problem again is not logged again');
    assert.deepEqual(watch.status(), { tone: 'warn', text: 'stale: no frame yet · retrying' });
    assert.equal(watch.whyNoFrames(), 'connection refused (retry in 1 s)');
    assert.equal(watch.changed('streaming', ''), undefined);
    ring.push(LFW[0]);
    const now = Date.now();
    assert.equal(watch.status(now).tone, 'ready');
    assert.equal(watch.health(now).ok, true);
    assert.deepEqual(watch.status(now + 3_400), { tone: 'warn', text: 'stale: no frame for 3 s' });
    const health = watch.health(now + 3_400);
    assert.equal(health.ok, false);
    assert.equal(health.frames, 1);
    assert.ok(health.lastFrameAgeMs! >= 3_400);
    // A problem that went away and came back is logged again.
    assert.match(watch.changed('error', 'ffmpeg not installed: apt install ffmpeg')!, /error: ffmpeg not installed/);
    assert.deepEqual(watch.status(now), { tone: 'error', text: 'ffmpeg not installed' });
  });

  it('a long problem gives way to "camera: no picture"', () => {
    const { camera: watch } = openCamera(ringOf([]), { ...camera({ kind: 'mjpeg', url: 'http://door.local/' }), fromMessages: false });
    watch.changed('error', 'the camera at http://door.local/cgi-bin/mjpg/video.cgi?channel=1 refused the password: HTTP 401');
    assert.deepEqual(watch.status(), { tone: 'error', text: 'camera: no picture' });
  });
});

describe('camera: a message to a frame-buffer is a frame or a trigger', () => {
  it('a JPEG Buffer is a frame when fed by messages; a trigger or an event is not', () => {
    assert.equal(frameIn({ payload: LFW[0] }, true), LFW[0]);
    assert.equal(frameIn({ payload: LFW[0] }, false), undefined);
    assert.equal(frameIn({ payload: LFW[0], topic: 'trigger' }, true), undefined);
    assert.equal(frameIn({ payload: LFW[0], event: { id: 'x' } }, true), undefined);
    assert.equal(frameIn({ payload: 'press' }, true), undefined);
    assert.equal(frameIn({ payload: true }, true), undefined);
  });

  it('a Buffer that is not a JPEG is refused (NOT_AN_IMAGE)', () => {
    assert.throws(() => frameIn({ payload: Buffer.from('not a picture') }, true), (err) => isPorchlightError(err) && err.code === 'NOT_AN_IMAGE' && /13 bytes but not a JPEG/.test(err.message));
  });
});

describe('camera: the frames of an event', () => {
  const burst = { preRoll: 3, count: 0, intervalMs: 50 };
  const options = { node: 'fb1', whyNoFrames: () => 'no frames buffered' };

  it('one message a frame: the pre-roll, oldest first, each with its frame and place', () => {
    const ring = ringOf(LFW);
    const sent: any[] = [];
    let result: Error | undefined | 'pending' = 'pending';
    new EventFrames(ring, { ...options, burst, oneMessage: false }).trigger({ topic: 'door', payload: 'press' }, (msg) => sent.push(msg), (err) => (result = err));
    assert.equal(result, undefined);
    assert.equal(sent.length, 3);
    assert.deepEqual(sent.map((m) => m.payload), LFW.slice(2));
    assert.deepEqual(sent.map((m) => m.frame.index), [0, 1, 2]);
    assert.deepEqual(sent.map((m) => m.burst), [0, 1, 2].map((index) => ({ index, count: 3 })));
    assert.ok(sent.every((m) => m.frame.preRoll && m.topic === 'door' && m.frame.width > 0 && m.frame.height > 0));
    assert.equal(new Set(sent.map((m) => m.event.id)).size, 1);
    assert.deepEqual(sent[0].event.source, { node: 'fb1' });
    assert.equal(sent[0].event.trigger, 'frame-buffer');
  });

  it('one message an event: the frames as an array, their info in msg.frames, the event given kept', async () => {
    const ring = ringOf(LFW.slice(0, 2));
    const sent: any[] = [];
    const event = { id: 'evt-given', trigger: 'doorbell', startedAt: Date.now(), source: { node: 'bell' } };
    const frames = new EventFrames(ring, { ...options, burst: { preRoll: 1, count: 2, intervalMs: 100 }, oneMessage: true });
    let calls = 0;
    frames.trigger({ event }, (msg) => sent.push(msg), () => calls++);
    assert.equal(frames.running, 1);
    // The same event again while its burst runs adds nothing.
    let repeated: unknown = 'pending';
    frames.trigger({ event }, (msg) => sent.push(msg), (err) => (repeated = err));
    assert.equal(repeated, undefined);
    setTimeout(() => ring.push(LFW[2]), 10);
    setTimeout(() => ring.push(LFW[3]), 110);
    await waitUntil(() => calls === 1, { message: 'the burst ends' });
    assert.equal(sent.length, 1);
    assert.equal(sent[0].event, event);
    assert.deepEqual(sent[0].payload, [LFW[1], LFW[2], LFW[3]]);
    assert.deepEqual(sent[0].frames.map((f: any) => [f.index, f.preRoll]), [[0, true], [1, false], [2, false]]);
    assert.deepEqual(sent[0].burst, { preRoll: 1, burst: 2, missed: 0 });
    assert.equal(frames.running, 0);
  });

  it('no frame at all: done with BAD_INPUT and the camera\'s reason', () => {
    let result: Error | undefined;
    new EventFrames(ringOf([]), { node: 'fb1', whyNoFrames: () => 'connection refused', burst, oneMessage: true }).trigger({}, () => assert.fail('nothing to send'), (err) => (result = err));
    assert.ok(isPorchlightError(result) && result.code === 'BAD_INPUT');
    assert.match(result.message, /no frame to send for event .* \(connection refused\)/);
  });

  it(`at most ${MAX_CONCURRENT_BURSTS} bursts at once; cancelAll stops them without done`, () => {
    const frames = new EventFrames(ringOf(LFW), { ...options, burst: { preRoll: 0, count: 3, intervalMs: 60_000 }, oneMessage: false });
    const results: (Error | undefined)[] = [];
    for (let i = 0; i <= MAX_CONCURRENT_BURSTS; i++) frames.trigger({}, () => undefined, (err) => results.push(err));
    assert.equal(frames.running, MAX_CONCURRENT_BURSTS);
    assert.equal(results.length, 1);
    assert.ok(isPorchlightError(results[0]) && results[0].code === 'QUEUE_FULL');
    frames.cancelAll();
    assert.equal(frames.running, 0);
    assert.equal(results.length, 1);
  });
});

describe('camera: CameraWatch counts frames per status tick', () => {
  it('the frame rate is the frames since the last status over the time since', () => {
    const ring = ringOf([]);
    const watch = new CameraWatch(ring, undefined, { fromMessages: true, staleAfterMs: 1_000 });
    const start = Date.now();
    watch.status(start);
    for (const jpeg of LFW.slice(0, 4)) ring.push(jpeg);
    assert.equal(watch.status(start + 2_000).text, 'streaming 2.0 fps · 4 frames');
    assert.equal(watch.status(start + 3_000).text, 'streaming 0.0 fps · 4 frames');
  });
});
