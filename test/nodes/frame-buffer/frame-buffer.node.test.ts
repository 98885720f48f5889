import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { isEventId } from '../../../lib/events/event-id';
import { jpegSize } from '../../../lib/camera/jpeg';
import { MultipartJpegParser, boundaryOf } from '../../../lib/camera/multipart';
import { helper, nextMessage } from '../../support/node-red';
import { gifFramesAsJpeg, MjpegServer } from '../../support/mjpeg-server';
import { nodeFile, videosDir } from '../../support/paths';
import { tempDir } from '../../support/temp';
import { waitUntil } from '../../support/wait';

const frameBuffer = require(nodeFile('frame-buffer'));
const GIF = path.join(videosDir, 'head-pose-face-detection-male.gif');

/** Collects every message a helper node receives. */
function collect(node: any): any[] {
  const got: any[] = [];
  node.on('input', (msg: any) => got.push(msg));
  return got;
}

function statusesOf(node: any): any[] {
  const statuses: any[] = [];
  node.on('call:status', (call: any) => statuses.push(call.args[0]));
  return statuses;
}

describe('frame-buffer node (Node-RED runtime)', function () {
  this.timeout(60_000);
  let frames: Buffer[];
  let server: MjpegServer | undefined;
  let tmp: string;

  before(async () => {
    frames = await gifFramesAsJpeg(GIF, 20);
    tmp = tempDir('porchlight-fb-');
  });
  afterEach(async () => {
    await helper.unload();
    await server?.stop();
    server = undefined;
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('frames in messages: a trigger sends the pre-roll, then a burst of frames that arrive after it', async () => {
    const flow = [
      { id: 'fb', type: 'porchlight-frame-buffer', source: 'msg', maxFrames: 30, maxMegabytes: 10, preRoll: 3, burstCount: 4, burstInterval: 100, output: 'each', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];
    await helper.load(frameBuffer, flow);
    const fb = helper.getNode('fb');
    const out = collect(helper.getNode('out'));
    for (let i = 0; i < 10; i++) fb.receive({ payload: frames[i] });
    const event = { id: '01JABCDEFGHJKMNPQRSTVWXYZ0', trigger: 'doorbell', startedAt: Date.now(), source: { node: 'bell' } };
    fb.receive({ payload: 'press', event });
    // the camera goes on at ~25 fps
    for (let i = 10; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 40));
      fb.receive({ payload: frames[i] });
    }
    await waitUntil(() => out.length >= 7, { timeout: 5_000, message: '7 frames' });
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(out.length, 7, 'pre-roll 3 + burst 4');
    assert.deepEqual(out.map((m) => m.frame.preRoll), [true, true, true, false, false, false, false]);
    assert.ok(out.slice(0, 3).every((m, i) => m.payload.equals(frames[7 + i])), 'the 3 frames before the trigger, oldest first');
    assert.ok(out.every((m) => m.event === event || m.event.id === event.id), 'msg.event is carried');
    assert.deepEqual(out.map((m) => m.frame.index), [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(out.map((m) => m.burst), [0, 1, 2, 3, 4, 5, 6].map((index) => ({ index, count: 7 })), 'msg.burst: each frame its place, the last one index = count - 1');
    const seqs = out.map((m) => m.frame.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    const { width, height } = jpegSize(frames[0])!;
    assert.ok(out.every((m) => m.frame.width === width && m.frame.height === height && typeof m.frame.capturedAt === 'number'));
  });

  it('topic "trigger" without an event creates one; all frames in one message on request; first frame within 20 ms', async () => {
    const flow = [
      { id: 'fb', type: 'porchlight-frame-buffer', source: 'msg', preRoll: 4, burstCount: 0, output: 'single', wires: [['out']] },
      { id: 'fb2', type: 'porchlight-frame-buffer', source: 'msg', preRoll: 2, burstCount: 0, output: 'each', wires: [['out2']] },
      { id: 'out', type: 'helper' },
      { id: 'out2', type: 'helper' },
    ];
    await helper.load(frameBuffer, flow);
    for (const f of frames.slice(0, 6)) {
      helper.getNode('fb').receive({ payload: f });
      helper.getNode('fb2').receive({ payload: f });
    }
    const single = nextMessage<any>(helper.getNode('out'), 5_000);
    helper.getNode('fb').receive({ topic: 'trigger' });
    const msg = await single;
    assert.ok(isEventId(msg.event.id));
    assert.equal(msg.event.trigger, 'frame-buffer');
    assert.equal(msg.payload.length, 4);
    assert.equal(msg.frames.length, 4);
    assert.ok(msg.payload.every((b: Buffer, i: number) => b.equals(frames[2 + i])));
    assert.deepEqual(msg.burst, { preRoll: 4, burst: 0, missed: 0 });

    // The median of 21 triggers, so that one hiccup of a shared test machine does not decide.
    const samples: number[] = [];
    for (let i = 0; i < 21; i++) {
      const first = new Promise((resolve) => helper.getNode('out2').once('input', resolve));
      const started = process.hrtime.bigint();
      helper.getNode('fb2').receive({ topic: 'trigger' });
      await first;
      samples.push(Number(process.hrtime.bigint() - started) / 1e6);
      await new Promise((r) => setTimeout(r, 5)); // the second pre-roll frame
    }
    const median = samples.sort((a, b) => a - b)[10];
    assert.ok(median < 20, `trigger to first frame: median ${median.toFixed(2)} ms`);
  });

  it('a Buffer that is not a JPEG is an error for Catch nodes; a trigger with nothing buffered too; the node keeps working', async () => {
    const flow = [
      { id: 'fb', type: 'porchlight-frame-buffer', source: 'msg', preRoll: 1, burstCount: 1, burstInterval: 100, wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];
    await helper.load(frameBuffer, flow);
    const fb = helper.getNode('fb');
    const errors: Error[] = [];
    fb.on('call:error', (call: any) => errors.push(call.args[0]));
    fb.receive({ payload: Buffer.from('<html>not a frame</html>') });
    fb.receive({ payload: 42 }); // not a frame: a trigger, with nothing buffered yet
    await waitUntil(() => errors.length >= 2, { timeout: 2_000, message: 'two errors' });
    assert.match(String(errors[0]), /not a JPEG/);
    assert.match(String(errors[1]), /no frame to send/);
    fb.receive({ payload: frames[0] });
    const got = nextMessage<any>(helper.getNode('out'), 2_000);
    fb.receive({ topic: 'pi/11', payload: 0 }); // what rpi-gpio in sends on a press
    assert.ok((await got).payload.equals(frames[0]));
  });

  it('MJPEG source: streams into the ring; latest.jpg and stream.mjpeg serve the live view', async () => {
    server = new MjpegServer({ frames, fps: 25 });
    const url = await server.start();
    const flow = [{ id: 'cam', type: 'porchlight-frame-buffer', source: 'mjpeg', url: `${url}/video.mjpg`, wires: [[]] }];
    await helper.load(frameBuffer, flow);
    const statuses = statusesOf(helper.getNode('cam'));
    await waitUntil(() => statuses.some((s) => /^streaming \d+(\.\d)? fps/.test(s.text) && s.fill === 'green'), { timeout: 5_000, message: 'streaming status' });

    const latest = await helper.request().get('/porchlight/camera/cam/latest.jpg').buffer(true).parse((res: any, cb: any) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => cb(null, Buffer.concat(chunks)));
    }).expect(200).expect('Content-Type', 'image/jpeg');
    assert.ok(frames.some((f) => f.equals(latest.body)), 'latest.jpg is a frame from the camera');
    await helper.request().get('/porchlight/camera/nope/latest.jpg').expect(404);

    // The live stream, read with the package's own multipart parser over a real socket.
    const admin = http.createServer((helper as any)._httpAdmin);
    await new Promise<void>((r) => admin.listen(0, '127.0.0.1', r));
    try {
      const got: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        const req = http.get(`http://127.0.0.1:${(admin.address() as AddressInfo).port}/porchlight/camera/cam/stream.mjpeg`, (res) => {
          assert.match(String(res.headers['content-type']), /^multipart\/x-mixed-replace/);
          const parser = new MultipartJpegParser(boundaryOf(res.headers['content-type']), { frame: (f) => got.push(f), problem: reject });
          res.on('data', (chunk: Buffer) => {
            parser.push(chunk);
            if (got.length >= 5) {
              req.destroy();
              resolve();
            }
          });
        });
        req.on('error', reject);
      });
      assert.ok(got.every((g) => frames.some((f) => f.equals(g))), 'live frames are the camera frames');
    } finally {
      admin.closeAllConnections();
      await new Promise((r) => admin.close(r));
    }
  });

  it('live view: viewers that stop reading are dropped after the write timeout, so they never lock the others out', async () => {
    await helper.load(frameBuffer, [{ id: 'cam', type: 'porchlight-frame-buffer', source: 'msg', maxFrames: 3, maxMegabytes: 20, liveTimeout: 1, wires: [[]] }]);
    const admin = http.createServer((helper as any)._httpAdmin);
    await new Promise<void>((r) => admin.listen(0, '127.0.0.1', r));
    const port = (admin.address() as AddressInfo).port;
    // Big frames fill a stalled viewer's socket buffers after a few; the live view never decodes them.
    const frame = Buffer.alloc(2 * 1024 * 1024, 7);
    frame[0] = 0xff;
    frame[1] = 0xd8;
    const push = () => helper.getNode('cam').receive({ payload: frame });
    const sockets: net.Socket[] = [];
    try {
      push();
      // 7 viewers that ask for the stream and never read it, and one that reads.
      for (let i = 0; i < 7; i++) {
        const socket = net.connect(port, '127.0.0.1', () => socket.write('GET /porchlight/camera/cam/stream.mjpeg HTTP/1.1\r\nHost: x\r\n\r\n'));
        socket.pause();
        sockets.push(socket);
      }
      let readerBytes = 0;
      const reader = http.get(`http://127.0.0.1:${port}/porchlight/camera/cam/stream.mjpeg`, (res) => res.on('data', (c: Buffer) => (readerBytes += c.length)));
      reader.on('error', () => undefined);
      await waitUntil(() => readerBytes > 0, { timeout: 10_000, message: 'the reading viewer gets a frame' });
      // Eight viewers: a ninth is turned away while they are connected.
      assert.equal((await fetch(`http://127.0.0.1:${port}/porchlight/camera/cam/stream.mjpeg`)).status, 503);

      // Frames keep coming; the stalled viewers' buffers fill, and after the write timeout they are dropped.
      const pusher = setInterval(push, 100);
      let ninth: Response | undefined;
      const abort = new AbortController();
      try {
        const deadline = Date.now() + 30_000;
        while (!ninth) {
          const res = await fetch(`http://127.0.0.1:${port}/porchlight/camera/cam/stream.mjpeg`, { signal: abort.signal });
          if (res.status === 200) ninth = res;
          else if (Date.now() > deadline) throw new Error(`a ninth viewer still gets ${res.status} after 30 s: the stalled viewers hold their slots`);
          else await new Promise((r) => setTimeout(r, 300));
        }
      } finally {
        clearInterval(pusher);
        abort.abort();
      }
      // The reading viewer was never dropped.
      const before = readerBytes;
      push();
      await waitUntil(() => readerBytes > before, { timeout: 10_000, message: 'the reading viewer still gets frames' });
      reader.destroy();
    } finally {
      for (const socket of sockets) socket.destroy();
      admin.closeAllConnections();
      await new Promise((r) => admin.close(r));
    }
  });

  it('MJPEG source: a stalled camera shows stale (yellow) and is reconnected', async () => {
    server = new MjpegServer({ frames, fps: 25, stallAfter: 10 });
    const url = await server.start();
    const flow = [{ id: 'cam', type: 'porchlight-frame-buffer', source: 'mjpeg', url: `${url}/video.mjpg`, staleAfter: 1, wires: [[]] }];
    await helper.load(frameBuffer, flow);
    const statuses = statusesOf(helper.getNode('cam'));
    await waitUntil(() => statuses.some((s) => s.fill === 'yellow' && /^stale: no frame for \d+ s/.test(s.text)), { timeout: 8_000, message: 'stale status' });
    await waitUntil(() => server!.connections >= 2, { timeout: 8_000, message: 'a reconnect' });
  });

  it('ffmpeg source: frames from a video file; close stops ffmpeg within 15 s', async () => {
    const video = path.join(tmp, 'clip.mp4');
    execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', GIF, '-t', '2', '-pix_fmt', 'yuv420p', '-vf', 'scale=trunc(iw/2)*2:trunc(ih/2)*2', video]);
    const flow = [
      { id: 'cam', type: 'porchlight-frame-buffer', source: 'ffmpeg', input: video, fps: 10, width: 320, preRoll: 2, burstCount: 2, burstInterval: 300, wires: [['out']] },
      { id: 'out', type: 'helper' },
    ];
    await helper.load(frameBuffer, flow);
    const out = collect(helper.getNode('out'));
    const statuses = statusesOf(helper.getNode('cam'));
    await waitUntil(() => statuses.some((s) => /^streaming/.test(s.text)), { timeout: 15_000, message: 'streaming' });
    await new Promise((r) => setTimeout(r, 500));
    helper.getNode('cam').receive({ topic: 'trigger' });
    await waitUntil(() => out.length >= 4, { timeout: 5_000, message: 'pre-roll and burst' });
    assert.ok(out.every((m) => m.frame.width === 320));
    const ffmpegPids = () => execFileSync('pgrep', ['-f', `ffmpeg .*${video}`], { encoding: 'utf8' }).trim();
    assert.ok(ffmpegPids(), 'ffmpeg is running');
    const started = Date.now();
    await helper.unload();
    assert.ok(Date.now() - started < 15_000);
    assert.throws(ffmpegPids, 'no ffmpeg left after close');
  });

  it('a camera without a URL: a red status that says so, and triggers end in an error', async () => {
    const flow = [{ id: 'cam', type: 'porchlight-frame-buffer', source: 'mjpeg', url: '', burstCount: 1, burstInterval: 50, wires: [[]] }];
    await helper.load(frameBuffer, flow);
    const cam = helper.getNode('cam');
    const statuses = statusesOf(cam);
    const errored = new Promise<Error>((resolve) => cam.on('call:error', (call: any) => resolve(call.args[0])));
    cam.receive({ topic: 'trigger' });
    assert.match(String(await errored), /no frame to send .*set the camera URL/);
    await waitUntil(() => statuses.some((s) => s.fill === 'red' && s.text === 'set the camera URL'), { timeout: 3_000, message: 'red status' });
  });

  it('ffmpeg missing: a clear red status, Node-RED keeps running', async () => {
    const saved = process.env.PATH;
    process.env.PATH = path.join(tmp, 'empty-bin');
    try {
      const flow = [{ id: 'cam', type: 'porchlight-frame-buffer', source: 'ffmpeg', input: '/dev/video0', wires: [[]] }];
      await helper.load(frameBuffer, flow);
      const statuses = statusesOf(helper.getNode('cam'));
      await waitUntil(() => statuses.some((s) => s.fill === 'red'), { timeout: 5_000, message: 'red status' });
      assert.equal(statuses.find((s) => s.fill === 'red').text, 'ffmpeg not installed');
    } finally {
      process.env.PATH = saved;
    }
  });

  it('the frame-buffer example deploys as shipped; its message camera sends all frames in one message on its trigger', async () => {
    const core = (file: string) => require(require.resolve(`@node-red/nodes/core/${file}`, { paths: [path.dirname(require.resolve('node-red'))] }));
    const flow = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', '..', 'examples', 'frame-buffer.json'), 'utf8'));
    const gpioDoorbell = require(nodeFile('gpio-doorbell'));
    await helper.load([core('common/20-inject.js'), core('common/21-debug.js'), core('common/90-comment.js'), core('network/21-httprequest.js'), gpioDoorbell, frameBuffer], flow);
    const camera = helper.getNode('pl-ex-fb-msgcam');
    for (const f of frames.slice(0, 8)) camera.receive({ payload: f });
    const got = nextMessage<any>(helper.getNode('pl-ex-fb-out2'), 10_000);
    helper.getNode('pl-ex-fb-trigger').receive({});
    const msg = await got;
    assert.equal(msg.payload.length, msg.frames.length);
    assert.equal(msg.burst.preRoll, 5);
    assert.ok(msg.payload.slice(0, 5).every((b: Buffer, i: number) => b.equals(frames[3 + i])));
  });
});
