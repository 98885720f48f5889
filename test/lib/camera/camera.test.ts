import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { isWholeJpeg, jpegEnd, jpegSize } from '../../../lib/camera/jpeg';
import { JpegStreamSplitter } from '../../../lib/camera/jpeg-splitter';
import { boundaryOf, MultipartJpegParser } from '../../../lib/camera/multipart';
import { MjpegHttpSource } from '../../../lib/camera/mjpeg-source';
import { ffmpegArgs, ffmpegSource, rpicamArgs, rpicamSource } from '../../../lib/camera/process-source';
import { SnapshotSource } from '../../../lib/camera/snapshot-source';
import { Backoff } from '../../../lib/process/backoff';
import type { FrameSource, SourceState } from '../../../lib/camera/source';
import { gifFramesAsJpeg, MjpegServer, readJpegs } from '../../support/mjpeg-server';
import { lfwImage, videosDir } from '../../support/paths';
import { tempDir } from '../../support/temp';
import { waitUntil } from '../../support/wait';

const GIF = path.join(videosDir, 'face-demographics-walking.gif');
const LFW = [lfwImage('Aaron_Eckhart', 1), lfwImage('Abdullah_Gul', 1), lfwImage('Adam_Sandler', 1), lfwImage('Al_Gore', 2), lfwImage('Alan_Greenspan', 1)];

/** Collects a source's frames and states until `until` holds (or the timeout). */
function watch(source: FrameSource) {
  const frames: Buffer[] = [];
  const states: { state: SourceState; detail: string }[] = [];
  const problems: string[] = [];
  source.on('frame', (jpeg) => frames.push(jpeg));
  source.on('state', (state, detail) => states.push({ state, detail }));
  source.on('problem', (reason) => problems.push(reason));
  const until = (check: () => boolean, ms = 15_000, what = 'condition') =>
    waitUntil(check, { timeout: ms, message: () => `${what}; states: ${JSON.stringify(states.slice(-5))}` });
  return { frames, states, problems, until };
}

/** Feeds `bytes` to `push` in pseudo-random chunk sizes (1..max), deterministic per seed. */
function feedInChunks(bytes: Buffer, push: (chunk: Buffer) => void, max: number, seed = 7): void {
  let state = seed;
  for (let i = 0; i < bytes.length; ) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    const size = 1 + (state % max);
    push(Buffer.from(bytes.subarray(i, i + size)));
    i += size;
  }
}

/** A JPEG with a whole JPEG thumbnail inside an APP1 segment, as EXIF cameras write. */
function withThumbnail(jpeg: Buffer, thumbnail: Buffer): Buffer {
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), thumbnail]);
  const header = Buffer.from([0xff, 0xe1, 0, 0]);
  header.writeUInt16BE(payload.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), header, payload, jpeg.subarray(2)]);
}

describe('camera: JPEG structure, stream splitting and multipart parsing', function () {
  this.timeout(60_000);
  let gifFrames: Buffer[];
  let lfwFrames: Buffer[];

  before(async () => {
    gifFrames = await gifFramesAsJpeg(GIF, 12);
    lfwFrames = readJpegs(LFW);
  });

  it('reads width and height from the SOF header, equal to what sharp decodes', async () => {
    for (const jpeg of [...gifFrames.slice(0, 3), ...lfwFrames]) {
      const meta = await sharp(jpeg).metadata();
      assert.deepEqual(jpegSize(jpeg), { width: meta.width, height: meta.height });
    }
    const progressive = await sharp(lfwFrames[0]).jpeg({ progressive: true }).toBuffer();
    assert.deepEqual(jpegSize(progressive), { width: 250, height: 250 });
    assert.ok(isWholeJpeg(progressive), 'a progressive JPEG (several scans) is whole');
    assert.equal(jpegSize(Buffer.from('not a jpeg')), undefined);
  });

  it('finds the real end of a JPEG whose EXIF thumbnail is itself a JPEG', () => {
    const framed = withThumbnail(lfwFrames[1], gifFrames[0]);
    assert.equal(jpegEnd(framed), framed.length);
    assert.ok(isWholeJpeg(framed));
    assert.ok(!isWholeJpeg(framed.subarray(0, framed.length - 100)), 'a truncated JPEG is not whole');
  });

  it('splits a concatenated JPEG stream in any chunking, skipping garbage', () => {
    const frames = [...gifFrames, withThumbnail(lfwFrames[0], gifFrames[1]), ...lfwFrames];
    const stream = Buffer.concat([Buffer.from('ffmpeg banner junk'), ...frames.flatMap((f) => [f, Buffer.from([0x0a])])]);
    for (const max of [1, 7, 1000, 65536]) {
      const out: Buffer[] = [];
      const problems: string[] = [];
      const splitter = new JpegStreamSplitter({ frame: (f) => out.push(f), problem: (p) => problems.push(p) });
      feedInChunks(stream, (c) => splitter.push(c), max);
      assert.equal(out.length, frames.length, `chunks up to ${max}`);
      out.forEach((f, i) => assert.ok(f.equals(frames[i]), `frame ${i} intact (chunks up to ${max})`));
      assert.ok(problems.length >= 1, 'the junk before the first frame is reported');
    }
  });

  it('frames larger than the parse buffer (noisy 1280x720) pass whole through TCP-sized chunks', async () => {
    const noisy = await Promise.all([20, 40].map((sigma) => sharp({ create: { width: 1280, height: 720, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma } } }).jpeg({ quality: 90 }).toBuffer()));
    assert.ok(noisy.every((f) => f.length > 300 * 1024), 'each frame is over the 256 KB the buffer starts with');
    const frames = [noisy[0], gifFrames[0], noisy[1], noisy[0]];
    const split: Buffer[] = [];
    const splitter = new JpegStreamSplitter({ frame: (f) => split.push(f), problem: assert.fail });
    feedInChunks(Buffer.concat(frames), (c) => splitter.push(c), 1448, 5);
    const parsed: Buffer[] = [];
    const parser = new MultipartJpegParser('myboundary', { frame: (f) => parsed.push(f), problem: assert.fail });
    feedInChunks(Buffer.concat(frames.map((f) => Buffer.concat([Buffer.from('--myboundary\r\n\r\n'), f, Buffer.from('\r\n')]))), (c) => parser.push(c), 1448, 9);
    for (const out of [split, parsed]) {
      assert.equal(out.length, frames.length);
      out.forEach((f, i) => assert.ok(f.equals(frames[i]), `frame ${i}`));
    }
  });

  it('drops a truncated frame in the stream and keeps the next one', () => {
    const cut = gifFrames[0].subarray(0, gifFrames[0].length - 300);
    const out: Buffer[] = [];
    const problems: string[] = [];
    const splitter = new JpegStreamSplitter({ frame: (f) => out.push(f), problem: (p) => problems.push(p) });
    feedInChunks(Buffer.concat([cut, gifFrames[1], gifFrames[2]]), (c) => splitter.push(c), 4096);
    assert.equal(out.length, 2);
    assert.ok(out[0].equals(gifFrames[1]) && out[1].equals(gifFrames[2]));
    assert.ok(problems.some((p) => /broken frame/.test(p)));
  });

  it('parses the boundary from Content-Type in its usual spellings', () => {
    assert.equal(boundaryOf('multipart/x-mixed-replace; boundary=frame'), 'frame');
    assert.equal(boundaryOf('multipart/x-mixed-replace;boundary="--my boundary"'), '--my boundary');
    assert.equal(boundaryOf('multipart/x-mixed-replace'), undefined);
  });

  const variants: { name: string; boundary?: string; body: (frames: Buffer[]) => Buffer; declared?: string }[] = [
    { name: 'RFC parts with Content-Length', body: (fs) => Buffer.concat(fs.map((f) => Buffer.concat([Buffer.from(`--myboundary\r\nContent-Type: image/jpeg\r\nContent-Length: ${f.length}\r\n\r\n`), f, Buffer.from('\r\n')]))) },
    { name: 'no Content-Length, LF line ends', body: (fs) => Buffer.concat(fs.map((f) => Buffer.concat([Buffer.from('--myboundary\nContent-Type: image/jpeg\n\n'), f, Buffer.from('\n')]))) },
    { name: 'no part headers at all', body: (fs) => Buffer.concat(fs.map((f) => Buffer.concat([Buffer.from('--myboundary\r\n'), f]))) },
    { name: 'headers but no empty line before the JPEG', body: (fs) => Buffer.concat(fs.map((f) => Buffer.concat([Buffer.from('--myboundary\r\nContent-Type: image/jpeg\r\n'), f, Buffer.from('\r\n')]))) },
    { name: 'boundary declared with its dashes', declared: '--myboundary', body: (fs) => Buffer.concat(fs.map((f) => Buffer.concat([Buffer.from('--myboundary\r\nContent-Type: image/jpeg\r\n\r\n'), f, Buffer.from('\r\n')]))) },
    { name: 'wrong Content-Length', body: (fs) => Buffer.concat(fs.map((f) => Buffer.concat([Buffer.from(`--myboundary\r\nContent-Length: ${f.length + 77}\r\n\r\n`), f, Buffer.from('\r\n')]))) },
    { name: 'no declared boundary (learnt from the stream)', declared: '', body: (fs) => Buffer.concat(fs.map((f) => Buffer.concat([Buffer.from('--myboundary\r\nContent-Type: image/jpeg\r\n\r\n'), f, Buffer.from('\r\n')]))) },
  ];
  for (const variant of variants) {
    it(`multipart: ${variant.name}`, () => {
      const frames = [...gifFrames.slice(0, 6), ...lfwFrames];
      const out: Buffer[] = [];
      const problems: string[] = [];
      const declared = variant.declared === undefined ? 'myboundary' : variant.declared || undefined;
      const parser = new MultipartJpegParser(declared, { frame: (f) => out.push(f), problem: (p) => problems.push(p) });
      feedInChunks(variant.body(frames), (c) => parser.push(c), 3000, 11);
      assert.deepEqual(problems, []);
      assert.equal(out.length, frames.length);
      out.forEach((f, i) => assert.ok(f.equals(frames[i]), `frame ${i}`));
    });
  }

  it('multipart: a camera that declares one boundary and sends another is understood (and reported once)', () => {
    const frames = [...gifFrames, ...lfwFrames];
    const body = Buffer.concat(frames.map((f) => Buffer.concat([Buffer.from('--actualboundary\r\nContent-Type: image/jpeg\r\n\r\n'), f, Buffer.from('\r\n')])));
    const out: Buffer[] = [];
    const problems: string[] = [];
    const parser = new MultipartJpegParser('declaredboundary', { frame: (f) => out.push(f), problem: (p) => problems.push(p) });
    feedInChunks(body, (c) => parser.push(c), 4096, 21);
    assert.deepEqual(problems, ['the camera declared boundary "declaredboundary" but uses "actualboundary"']);
    assert.equal(out.length, frames.length, 'no frame lost, the first ones included');
    out.forEach((f, i) => assert.ok(f.equals(frames[i])));
  });

  it('multipart: skips a garbled boundary, a truncated part and a text part, counting each', () => {
    const [a, b, c, d, e] = gifFrames;
    const part = (f: Buffer | string, line = '--myboundary') => Buffer.concat([Buffer.from(`${line}\r\nContent-Type: image/jpeg\r\n\r\n`), Buffer.from(f as Buffer), Buffer.from('\r\n')]);
    const body = Buffer.concat([
      part(a),
      part(b, '--myb0undary!'), // lost with its frame: the bytes before the next boundary are junk
      part(c.subarray(0, c.length - 500)), // cut short by the camera
      part(d),
      part('<html>camera busy</html>'),
      part(e),
    ]);
    const out: Buffer[] = [];
    const problems: string[] = [];
    const parser = new MultipartJpegParser('myboundary', { frame: (f) => out.push(f), problem: (p) => problems.push(p) });
    feedInChunks(body, (x) => parser.push(x), 2048, 3);
    assert.equal(out.length, 3);
    assert.ok(out[0].equals(a) && out[1].equals(d) && out[2].equals(e), 'the whole frames, in order');
    assert.equal(problems.length, 3, problems.join('; '));
  });
});

describe('camera: frame sources (real loopback server, real processes)', function () {
  this.timeout(60_000);
  let gifFrames: Buffer[];
  let server: MjpegServer | undefined;
  let source: FrameSource | undefined;
  let tmp: string;

  before(async () => {
    gifFrames = await gifFramesAsJpeg(GIF, 10);
    tmp = tempDir('porchlight-camera-');
  });
  afterEach(async () => {
    await source?.stop();
    await server?.stop();
    source = undefined;
    server = undefined;
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('MJPEG over HTTP: GIF and LFW frames arrive whole and in order, through odd chunks', async () => {
    const frames = [...gifFrames, ...readJpegs(LFW)];
    server = new MjpegServer({ frames, fps: 100, chunkSize: 1399, boundaryStyle: 'extra-dashes', contentLength: false });
    const url = await server.start();
    source = new MjpegHttpSource({ url: `${url}/video.mjpg` });
    const seen = watch(source);
    source.start();
    await seen.until(() => seen.frames.length >= frames.length + 3, 15_000, 'frames');
    seen.frames.slice(0, frames.length + 3).forEach((f, i) => assert.ok(f.equals(frames[i % frames.length]), `frame ${i} in order`));
    assert.equal(seen.problems.length, 0);
    assert.equal(seen.states.find((s) => s.state === 'streaming')?.state, 'streaming');
  });

  it('MJPEG over HTTP: broken parts are skipped and counted, the stream goes on', async () => {
    server = new MjpegServer({
      frames: gifFrames,
      fps: 100,
      // every 4th part loses its tail; every 7th has a garbled boundary line
      mangle: (i, part) => (i % 4 === 3 ? part.subarray(0, part.length - 400) : i % 7 === 6 ? Buffer.concat([Buffer.from('--XX'), part.subarray(4)]) : part),
    });
    const url = await server.start();
    source = new MjpegHttpSource({ url: `${url}/video.mjpg` });
    const seen = watch(source);
    source.start();
    await seen.until(() => server!.framesSent >= 40 && seen.frames.length >= 20, 15_000, '40 parts');
    for (const frame of seen.frames) assert.ok(gifFrames.some((g) => g.equals(frame)), 'only whole, genuine frames come out');
    assert.ok(seen.problems.length >= 8, `problems counted: ${seen.problems.length}`);
    assert.equal(source.problems, seen.problems.length);
    assert.equal(server.connections, 1, 'broken parts do not cost a reconnect');
  });

  it('MJPEG over HTTP: reconnects after the server drops the connection, and after a stall', async () => {
    server = new MjpegServer({ frames: gifFrames, fps: 50, dropAfter: 5 });
    const url = await server.start();
    source = new MjpegHttpSource({ url: `${url}/video.mjpg`, backoff: new Backoff(50, 200) });
    const seen = watch(source);
    source.start();
    await seen.until(() => server!.connections >= 3 && seen.frames.length >= 12, 15_000, 'three connections');
    assert.ok(seen.states.some((s) => s.state === 'reconnecting' && /dropped|closed/.test(s.detail)), JSON.stringify(seen.states));
    await source.stop();
    await server.stop();

    server = new MjpegServer({ frames: gifFrames, fps: 50, stallAfter: 3 });
    const url2 = await server.start();
    source = new MjpegHttpSource({ url: `${url2}/video.mjpg`, staleAfterMs: 300, backoff: new Backoff(50, 200) });
    const stalled = watch(source);
    source.start();
    await stalled.until(() => server!.connections >= 2, 10_000, 'a reconnect after the stall');
    assert.ok(stalled.states.some((s) => s.state === 'reconnecting' && /no frame for/.test(s.detail)));
  });

  it('MJPEG over HTTP: basic auth from credentials; a wrong password is a clear error', async () => {
    server = new MjpegServer({ frames: gifFrames, fps: 50, auth: { user: 'door', password: 's3cret' } });
    const url = await server.start();
    source = new MjpegHttpSource({ url: `${url}/video.mjpg`, credentials: { user: 'door', password: 'wrong' }, backoff: new Backoff(5_000) });
    const bad = watch(source);
    source.start();
    await bad.until(() => bad.states.some((s) => s.state === 'error'), 5_000, 'the 401');
    assert.match(bad.states.find((s) => s.state === 'error')!.detail, /401.*user and password/);
    await source.stop();
    source = new MjpegHttpSource({ url: `${url}/video.mjpg`, credentials: { user: 'door', password: 's3cret' } });
    const good = watch(source);
    source.start();
    await good.until(() => good.frames.length >= 3, 5_000, 'frames with the right password');
  });

  it('snapshot polling: one frame per interval', async () => {
    server = new MjpegServer({ frames: gifFrames });
    const url = await server.start();
    source = new SnapshotSource({ url: `${url}/snapshot.jpg`, intervalMs: 100 });
    const seen = watch(source);
    const started = Date.now();
    source.start();
    await seen.until(() => seen.frames.length >= 6, 5_000, 'six snapshots');
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 450, `six polls at 100 ms take at least 0.5 s (took ${elapsed} ms)`);
    seen.frames.slice(0, 6).forEach((f, i) => assert.ok(f.equals(gifFrames[i])));
  });

  it('ffmpeg: a video file made from the GIF comes out as whole JPEG frames of the right size', async () => {
    const video = path.join(tmp, 'walking.mp4');
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', GIF, '-t', '2', '-pix_fmt', 'yuv420p', '-vf', 'scale=320:-2', video]);
    assert.deepEqual(ffmpegArgs({ input: video, fps: 10, width: 320 }).slice(-10), ['-i', video, '-an', '-vf', 'fps=10,scale=320:-2', '-q:v', '5', '-f', 'mjpeg', 'pipe:1']);
    source = ffmpegSource({ input: video, fps: 10, width: 320 });
    const seen = watch(source);
    source.start();
    await seen.until(() => seen.frames.length >= 8, 20_000, 'eight ffmpeg frames');
    const { width, height } = (await sharp(gifFrames[0]).metadata()) as { width: number; height: number };
    for (const frame of seen.frames.slice(0, 8)) {
      assert.ok(isWholeJpeg(frame));
      assert.deepEqual(jpegSize(frame), { width: 320, height: Math.round((height * 320) / width / 2) * 2 });
    }
    const pid = (source as unknown as { child?: { pid: number } }).child?.pid;
    assert.ok(pid, 'ffmpeg runs');
    await source.stop();
    assert.throws(() => process.kill(pid!, 0), 'ffmpeg is gone after stop()');
  });

  it('ffmpeg: an unreachable RTSP camera is retried, and its password never reaches status or logs', async () => {
    source = ffmpegSource({ input: 'rtsp://door:hunter2@127.0.0.1:1/stream', backoff: new Backoff(100, 200) });
    const seen = watch(source);
    source.start();
    await seen.until(() => seen.states.filter((s) => s.state === 'reconnecting').length >= 2, 15_000, 'two failed attempts');
    const failure = seen.states.find((s) => s.state === 'reconnecting')!.detail;
    assert.match(failure, /^ffmpeg exited with code \d+: .*127\.0\.0\.1:1/);
    assert.ok(!source.label.includes('hunter2') && !seen.states.some((s) => s.detail.includes('hunter2')), JSON.stringify(seen.states));
  });

  it('ffmpeg and rpicam-vid missing: a clear error, not a crash', async () => {
    source = ffmpegSource({ input: 'x.mp4', command: path.join(tmp, 'no-such-ffmpeg') });
    const seen = watch(source);
    source.start();
    await seen.until(() => seen.states.some((s) => s.state === 'error'), 5_000, 'the error');
    assert.equal(seen.states.find((s) => s.state === 'error')!.detail, 'ffmpeg not installed: apt install ffmpeg');
    await source.stop();
    source = rpicamSource({ command: path.join(tmp, 'no-such-rpicam-vid') });
    const pi = watch(source);
    source.start();
    await pi.until(() => pi.states.some((s) => s.state === 'error'), 5_000, 'the error');
    assert.equal(pi.states.find((s) => s.state === 'error')!.detail, 'rpicam-vid not installed: apt install rpicam-apps');
  });

  it('rpicam-vid: MJPEG on stdout from a scripted stand-in (no Pi camera here), restarted when it exits', async () => {
    // The stand-in logs its arguments and writes the frames in odd-sized pieces, then exits.
    const stream = path.join(tmp, 'pi.mjpeg');
    fs.writeFileSync(stream, Buffer.concat(gifFrames.slice(0, 5)));
    const log = path.join(tmp, 'rpicam-args.log');
    const fake = path.join(tmp, 'rpicam-vid');
    fs.writeFileSync(fake, `#!/usr/bin/env node
const fs = require('fs');
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(process.argv.slice(2)) + '\\n');
const data = fs.readFileSync(${JSON.stringify(stream)});
let i = 0;
const timer = setInterval(() => {
  if (i >= data.length) { clearInterval(timer); process.exit(0); }
  process.stdout.write(data.subarray(i, i + 997)); i += 997;
}, 1);
`);
    fs.chmodSync(fake, 0o755);
    source = rpicamSource({ command: fake, width: 640, height: 480, fps: 15, backoff: new Backoff(50, 100) });
    const seen = watch(source);
    source.start();
    await seen.until(() => seen.frames.length >= 10, 10_000, 'two runs of frames');
    seen.frames.slice(0, 10).forEach((f, i) => assert.ok(f.equals(gifFrames[i % 5]), `frame ${i}`));
    const runs = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(runs.length >= 2, 'restarted after exiting');
    assert.deepEqual(runs[0], rpicamArgs({ width: 640, height: 480, fps: 15 }));
    assert.ok(runs[0].includes('--codec') && runs[0].includes('mjpeg') && runs[0].at(-1) === '-');
  });
});
