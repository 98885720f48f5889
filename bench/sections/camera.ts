/**
 * Camera figures: MJPEG ingest rate at 1280x720, the CPU cost of buffering a
 * 15 fps stream with no trigger, and trigger-to-first-frame latency through a
 * real Node-RED runtime. The camera is a loopback MJPEG server in a child
 * process, so its work is not counted in this process's CPU time.
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import sharp from 'sharp';
import { Burst, FrameRing, MjpegHttpSource, MultipartJpegParser } from '../../lib/camera';
import { latency, type BenchSection, type Measurement } from '../types';

const GIF = 'face-demographics-walking.gif';
const SERVER_ENV = 'PORCHLIGHT_BENCH_MJPEG_SERVER';

/**
 * Child-process mode: serve the GIF's frames upscaled to 1280x720 as MJPEG at
 * the fps given. `grain` adds sensor-like noise, which makes the JPEGs the size
 * a real 720p camera sends (the smooth upscaled GIF compresses far better).
 */
async function serveCamera(): Promise<void> {
  const { MjpegServer } = await import('../../test/support/mjpeg-server');
  const { videosDir } = await import('../../test/support/paths');
  const [fps, grain] = String(process.env[SERVER_ENV]).split(':');
  const file = path.join(videosDir, GIF);
  const { pages = 1 } = await sharp(file).metadata();
  const noise = grain === 'grain' ? await sharp({ create: { width: 1280, height: 720, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 12 } } }).png().toBuffer() : undefined;
  const frames: Buffer[] = [];
  for (let page = 0; page < pages; page++) {
    const frame = sharp(await sharp(file, { page }).resize(1280, 720, { fit: 'cover' }).toBuffer());
    if (noise) frame.composite([{ input: noise, blend: 'overlay' }]);
    frames.push(await frame.jpeg({ quality: 80 }).toBuffer());
  }
  const server = new MjpegServer({ frames, fps: Number(fps) });
  const url = await server.start();
  process.send!({ url: `${url}/video.mjpg`, frameBytes: frames.reduce((s, f) => s + f.length, 0) / frames.length });
}

if (require.main === module && process.env[SERVER_ENV] !== undefined) {
  serveCamera().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

interface Camera {
  url: string;
  frameBytes: number;
  child: ChildProcess;
}

function startCamera(fps: number, grain = false): Promise<Camera> {
  const child = fork(__filename, [], { env: { ...process.env, [SERVER_ENV]: `${fps}:${grain ? 'grain' : 'smooth'}` }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m: { url: string; frameBytes: number }) => resolve({ ...m, child }));
    child.once('exit', (code) => reject(new Error(`camera process exited with code ${code}`)));
  });
}

function stopCamera(camera: Camera): Promise<void> {
  return new Promise((resolve) => {
    camera.child.once('exit', () => resolve());
    camera.child.kill();
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Frames per second through MjpegHttpSource into a ring, over `seconds`. */
async function ingestRate(url: string, seconds: number): Promise<number> {
  const ring = new FrameRing({ maxFrames: 45, maxBytes: 50 * 1024 * 1024 });
  const source = new MjpegHttpSource({ url });
  source.on('frame', (jpeg) => ring.push(jpeg));
  source.start();
  await new Promise<void>((resolve) => source.once('frame', () => resolve()));
  const first = ring.latest()!.seq;
  const started = Date.now();
  await sleep(seconds * 1000);
  const frames = ring.latest()!.seq - first;
  const elapsed = (Date.now() - started) / 1000;
  await source.stop();
  return frames / elapsed;
}

/** Baseline: the same stream read as bytes with no parsing, in frame-equivalents per second. */
async function rawReadRate(url: string, frameBytes: number, seconds: number): Promise<number> {
  let bytes = 0;
  const req = http.get(url, (res) => res.on('data', (chunk: Buffer) => (bytes += chunk.length)));
  req.on('error', () => undefined);
  await sleep(500);
  const startBytes = bytes;
  const started = Date.now();
  await sleep(seconds * 1000);
  const rate = (bytes - startBytes) / frameBytes / ((Date.now() - started) / 1000);
  req.destroy();
  return rate;
}

/** The multipart parser on a prebuilt 1280x720 stream cut in chunks of `chunkBytes`: its ceiling on this CPU. */
async function parserRate(seconds: number, chunkBytes: number): Promise<{ rate: number; frameBytes: number }> {
  const file = path.join((await import('../../test/support/paths')).videosDir, GIF);
  const jpegs = await Promise.all([0, 1, 2, 3].map((page) => sharp(file, { page }).resize(1280, 720, { fit: 'cover' }).jpeg({ quality: 80 }).toBuffer()));
  const stream = Buffer.concat(jpegs.map((j) => Buffer.concat([Buffer.from(`--frame\r\nContent-Type: image/jpeg\r\nContent-Length: ${j.length}\r\n\r\n`), j, Buffer.from('\r\n')])));
  const chunks: Buffer[] = [];
  for (let i = 0; i < stream.length; i += chunkBytes) chunks.push(stream.subarray(i, i + chunkBytes));
  let frames = 0;
  const parser = new MultipartJpegParser('frame', { frame: () => frames++, problem: () => undefined });
  const started = Date.now();
  while (Date.now() - started < seconds * 1000) for (const chunk of chunks) parser.push(chunk);
  return { rate: frames / ((Date.now() - started) / 1000), frameBytes: stream.length / jpegs.length };
}

/** % of one core used by this process over `seconds`, while `during` runs. */
async function cpuPercent(seconds: number): Promise<number> {
  const before = process.cpuUsage();
  const started = process.hrtime.bigint();
  await sleep(seconds * 1000);
  const used = process.cpuUsage(before);
  const wallUs = Number(process.hrtime.bigint() - started) / 1000;
  return ((used.user + used.system) / wallUs) * 100;
}

const section: BenchSection = {
  name: 'camera',
  async run(ctx) {
    const out: Measurement[] = [];
    const seconds = ctx.quick ? 2 : 5;

    // 1. Ingest: the camera sends as fast as the socket drains. Raw reads and
    // ingest alternate (best of two each), so both see the same warmed-up camera.
    for (const grain of [false, true]) {
      const fast = await startCamera(0, grain);
      const kind = grain ? 'grainy' : 'smooth';
      try {
        let raw = 0;
        let ingest = 0;
        for (let round = 0; round < 2; round++) {
          raw = Math.max(raw, await rawReadRate(fast.url, fast.frameBytes, seconds));
          ingest = Math.max(ingest, await ingestRate(fast.url, seconds));
        }
        const size = `${Math.round(fast.frameBytes / 1024)} KB frames`;
        out.push({ name: `ingest 1280x720 MJPEG over HTTP, ${kind} (parse + ring)`, kind: 'value', value: ingest, unit: 'frames/s', note: size });
        out.push({ name: `baseline: read the same ${kind} stream, no parsing`, kind: 'value', value: raw, unit: 'frames/s', note: size });
        out.push({ name: `ingest / baseline, ${kind}`, kind: 'value', value: ingest / raw, unit: 'x' });
      } finally {
        await stopCamera(fast);
      }
    }
    for (const [label, chunkBytes] of [['64 KB chunks', 65536], ['1448 B chunks (TCP segments)', 1448]] as const) {
      const { rate, frameBytes } = await parserRate(seconds, chunkBytes);
      out.push({ name: `multipart parser alone, ${label}`, kind: 'value', value: rate, unit: 'frames/s', note: `${Math.round(frameBytes / 1024)} KB frames` });
    }

    // 2. CPU while buffering 15 fps with no trigger, against this process idle.
    const idle = await cpuPercent(seconds);
    const camera = await startCamera(15, true);
    try {
      const ring = new FrameRing({ maxFrames: 45, maxBytes: 50 * 1024 * 1024 });
      const source = new MjpegHttpSource({ url: camera.url });
      source.on('frame', (jpeg) => ring.push(jpeg));
      source.start();
      await sleep(1000);
      const buffering = await cpuPercent(seconds);
      await source.stop();
      out.push({ name: 'CPU buffering 15 fps 1280x720, no trigger', kind: 'value', value: buffering, unit: '% of one core' });
      out.push({ name: 'baseline: CPU of this process idle', kind: 'value', value: idle, unit: '% of one core' });

      // 3. Trigger to first frame: the library alone, then through Node-RED (helper runtime).
      ring.clear();
      const libSource = new MjpegHttpSource({ url: camera.url });
      libSource.on('frame', (jpeg) => ring.push(jpeg));
      libSource.start();
      await sleep(1000);
      const libSamples: number[] = [];
      for (let i = 0; i < (ctx.quick ? 50 : 500); i++) {
        const started = process.hrtime.bigint();
        let first = 0;
        new Burst(ring, { preRoll: 5, count: 0, intervalMs: 200 }, () => (first ||= Number(process.hrtime.bigint() - started) / 1e6), () => undefined);
        libSamples.push(first);
      }
      await libSource.stop();
      out.push(latency('trigger -> first frame, library (pre-roll 5)', libSamples));
      out.push(...(await nodeRedLatency(camera.url, ctx.quick ? 30 : 200)));
    } finally {
      await stopCamera(camera);
    }
    return out;
  },
};

/** Through a real Node-RED runtime: a trigger message in, the first frame message out. */
async function nodeRedLatency(url: string, triggers: number): Promise<Measurement[]> {
  const { helper } = await import('../../test/support/node-red');
  const { nodeFile } = await import('../../test/support/paths');
  const frameBuffer = require(nodeFile('frame-buffer'));
  const flow = [
    { id: 'cam', type: 'porchlight-frame-buffer', source: 'mjpeg', url, preRoll: 5, burstCount: 1, burstInterval: 100, wires: [['out']] },
    { id: 'cam0', type: 'porchlight-frame-buffer', source: 'mjpeg', url, preRoll: 0, burstCount: 1, burstInterval: 100, wires: [['out0']] },
    { id: 'out', type: 'helper' },
    { id: 'out0', type: 'helper' },
  ];
  await helper.load(frameBuffer, flow);
  try {
    await sleep(1500);
    const measure = async (camId: string, outId: string): Promise<number[]> => {
      const samples: number[] = [];
      const outNode = helper.getNode(outId);
      for (let i = 0; i < triggers; i++) {
        const started = process.hrtime.bigint();
        const first = new Promise<number>((resolve) => outNode.once('input', () => resolve(Number(process.hrtime.bigint() - started) / 1e6)));
        helper.getNode(camId).receive({ topic: 'trigger' });
        samples.push(await first);
        await sleep(120); // let the one-frame burst finish before the next trigger
      }
      return samples;
    };
    return [
      latency('trigger -> first frame, Node-RED (pre-roll 5)', await measure('cam', 'out'), 'a 15 fps 1280x720 MJPEG camera'),
      latency('trigger -> first new frame, Node-RED (pre-roll 0)', await measure('cam0', 'out0'), 'waits for the camera: ~half a frame interval'),
    ];
  } finally {
    await helper.unload();
  }
}

export default section;
