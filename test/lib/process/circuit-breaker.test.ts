import assert from 'node:assert/strict';
import path from 'node:path';
import sinon from 'sinon';
import { isPorchlightError } from '../../../lib/errors';
import { MjpegHttpSource } from '../../../lib/camera/mjpeg-source';
import type { SourceState } from '../../../lib/camera/source';
import { metricsText } from '../../../lib/metrics';
import { healthReport } from '../../../lib/metrics/health';
import { Backoff } from '../../../lib/process/backoff';
import { CircuitBreaker, trackBreaker, trackedBreakers, type CircuitState } from '../../../lib/process/circuit-breaker';
import { gifFramesAsJpeg, MjpegServer } from '../../support/mjpeg-server';
import { videosDir } from '../../support/paths';
import { waitUntil } from '../../support/wait';

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('circuit breaker (lib/process/circuit-breaker.ts)', function () {
  this.timeout(60_000);
  afterEach(() => sinon.restore());

  it('opens after N failures within the window, refuses during the cool-off, tries once, closes on success', async () => {
    const clock = sinon.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
    const breaker = new CircuitBreaker('stage', { failures: 3, windowMs: 10_000, coolOffMs: 30_000 });
    const states: CircuitState[] = [];
    breaker.on('state', (state) => states.push(state));
    const failing = () => Promise.reject(new Error('backend down'));

    // Failures spread wider than the window never open it.
    for (let i = 0; i < 4; i++) {
      await assert.rejects(breaker.run(failing), /backend down/);
      clock.tick(6_000);
    }
    assert.equal(breaker.state, 'closed');
    clock.tick(10_000);
    // Three within 10 s do.
    for (let i = 0; i < 3; i++) {
      await assert.rejects(breaker.run(failing), /backend down/);
      clock.tick(1_000);
    }
    assert.equal(breaker.state, 'open');
    assert.deepEqual(states, ['open']);
    let calls = 0;
    const counted = async () => {
      calls++;
      return 'ok';
    };
    await assert.rejects(breaker.run(counted), (err) => isPorchlightError(err, 'CIRCUIT_OPEN') && /circuit open after 3 failures within 10 s \(last: backend down\); next try in 29 s/.test(err.message));
    assert.equal(await breaker.run(counted, { fallback: (err) => `fallback: ${(err as Error).message.slice(0, 19)}` }), 'fallback: stage: circuit open');
    assert.equal(calls, 0, 'called while open');
    assert.equal(breaker.stats().rejected, 2);
    assert.equal(breaker.retryInMs(), 29_000);

    // Cool-off over: one trial; a second caller meanwhile is still refused.
    clock.tick(29_000);
    assert.equal(breaker.state, 'half-open');
    let finishTrial!: () => void;
    const trial = breaker.run(() => new Promise<string>((resolve) => (finishTrial = () => resolve('ok'))));
    await assert.rejects(breaker.run(counted), /circuit open/);
    finishTrial();
    assert.equal(await trial, 'ok');
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(states, ['open', 'half-open', 'closed']);
    assert.equal(await breaker.run(counted), 'ok');

    // A failed trial opens it again for a whole cool-off.
    for (let i = 0; i < 3; i++) await assert.rejects(breaker.run(failing));
    clock.tick(30_000);
    await assert.rejects(breaker.run(failing), /backend down/);
    assert.equal(breaker.state, 'open');
    assert.equal(breaker.retryInMs(), 30_000);
    assert.equal(breaker.stats().opened, 3);
  });

  it('errors that are not the stage\'s failures do not count, and give the trial back', async () => {
    const breaker = new CircuitBreaker('model', { failures: 2, windowMs: 60_000, coolOffMs: 1 });
    const badInput = Object.assign(new Error('not an image'), { code: 'NOT_AN_IMAGE' });
    const counts = (err: unknown) => (err as { code?: string }).code !== 'NOT_AN_IMAGE';
    for (let i = 0; i < 5; i++) await assert.rejects(breaker.run(() => Promise.reject(badInput), { counts }));
    assert.equal(breaker.state, 'closed');
    // Fallback when the call fails (the stage's own fallback, e.g. another backend).
    assert.equal(await breaker.run(() => Promise.reject(new Error('onnx crashed')), { fallback: () => 'face-api' }), 'face-api');
    assert.equal(breaker.stats().recentFailures, 1);
  });

  it('shows tracked breakers in /porchlight/metrics and /porchlight/health until untracked', async () => {
    const clock = sinon.useFakeTimers({ now: 5_000_000, toFake: ['Date'] });
    const breaker = new CircuitBreaker('shared log test', { failures: 1, coolOffMs: 10_000 });
    const untrack = trackBreaker(breaker);
    try {
      breaker.failure(new Error('ECONNREFUSED'));
      assert.equal(breaker.tryAcquire(), false);
      const text = await metricsText();
      assert.match(text, /^porchlight_circuit_state\{breaker="shared log test"\} 2$/m);
      assert.match(text, /^porchlight_circuit_opened_total\{breaker="shared log test"\} 1$/m);
      assert.match(text, /^porchlight_circuit_rejected_total\{breaker="shared log test"\} 1$/m);
      assert.match(text, /^porchlight_component_up\{component="circuit",name="shared log test"\} 0$/m);
      const health = (await healthReport()).components['circuit:shared log test'];
      assert.equal(health.ok, false);
      assert.match(String(health.detail), /open after 1 failures within 60 s: next try in 10 s \(ECONNREFUSED\)/);
      clock.tick(10_000);
      assert.match(await metricsText(), /^porchlight_circuit_state\{breaker="shared log test"\} 1$/m);
    } finally {
      untrack();
    }
    assert.ok(!trackedBreakers().includes(breaker));
    assert.doesNotMatch(await metricsText(), /shared log test/);
  });

  it('a camera that keeps failing: opens (error status, no tries during the cool-off), one trial later, closed when frames come', async () => {
    const frames = await gifFramesAsJpeg(path.join(videosDir, 'face-demographics-walking.gif'), 5);
    // A port with nothing listening (refused at once), where the camera comes back later.
    const probe = new MjpegServer({ frames });
    const url = await probe.start();
    await probe.stop();
    const port = Number(new URL(url).port);

    const clock = sinon.useFakeTimers({ now: 10_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const source = new MjpegHttpSource({ url: `${url}/video.mjpg`, backoff: new Backoff(100, 100), staleAfterMs: 600_000, breaker: { failures: 3, windowMs: 10_000, coolOffMs: 30_000 } });
    const states: Array<{ state: SourceState; detail: string }> = [];
    let got = 0;
    source.on('state', (state, detail) => states.push({ state, detail }));
    source.on('frame', () => got++);
    const attempts = () => states.filter((s) => s.state === 'reconnecting' || s.state === 'error').length;
    let server: MjpegServer | undefined;
    source.start();
    try {
      await waitUntil(() => attempts() === 1, { interval: 0, message: 'the first refused connection' });
      await clock.tickAsync(100);
      await waitUntil(() => attempts() === 2, { interval: 0, message: 'the second' });
      await clock.tickAsync(100);
      await waitUntil(() => attempts() === 3, { interval: 0, message: 'the third' });
      assert.equal(source.breaker!.state, 'open');
      const opened = states.at(-1)!;
      assert.equal(opened.state, 'error');
      assert.match(opened.detail, /ECONNREFUSED.* · circuit open after 3 failures within 10 s: next try in 30 s/);
      assert.match(await metricsText(), new RegExp(`^porchlight_circuit_state\\{breaker="camera MJPEG ${escape(url)}/video.mjpg"\\} 2$`, 'm'));

      // The cool-off: no attempt at all (with the backoff alone there would be 290).
      await clock.tickAsync(29_000);
      for (let i = 0; i < 200; i++) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(attempts(), 3, 'tried during the cool-off');

      // The camera is back; the trial connects and frames close the breaker.
      server = new MjpegServer({ frames, fps: 20 });
      await server.start(port);
      await clock.tickAsync(1_000);
      for (let i = 0; i < 200 && got === 0; i++) {
        await clock.tickAsync(50);
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.ok(got > 0, 'no frame after the cool-off');
      assert.equal(server.connections, 1, 'one trial connection');
      assert.equal(source.breaker!.state, 'closed');
      assert.equal(source.state, 'streaming');
      assert.match(await metricsText(), new RegExp(`^porchlight_circuit_state\\{breaker="camera MJPEG ${escape(url)}/video.mjpg"\\} 0$`, 'm'));
    } finally {
      await source.stop();
      await server?.stop();
    }
    assert.ok(!trackedBreakers().includes(source.breaker!), 'a stopped camera\'s breaker is still listed');
  });
});
