/**
 * A real MJPEG camera on loopback for tests and the benchmark:
 * `GET /video.mjpg` streams `multipart/x-mixed-replace` parts at a set rate,
 * `GET /snapshot.jpg` answers the current frame. Knobs reproduce what real
 * cameras get wrong (boundary dashes, no Content-Length, no part headers,
 * mangled parts, dropped connections, stalls) and basic auth.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

export interface MjpegServerOptions {
  frames: Buffer[];
  /** Frames per second; 0 sends as fast as the socket drains. */
  fps?: number;
  /** The boundary declared in Content-Type. */
  boundary?: string;
  /** How the boundary line is written: `--boundary` (RFC), the bare boundary, or with extra dashes. */
  boundaryStyle?: 'rfc' | 'bare' | 'extra-dashes';
  contentLength?: boolean;
  /** Part headers (Content-Type...) before each JPEG; some cameras send none. */
  partHeaders?: boolean;
  /** Rewrites the bytes of part `index` (the whole part: boundary line, headers, JPEG). */
  mangle?: (index: number, part: Buffer) => Buffer;
  /** Close each connection after this many frames. */
  dropAfter?: number;
  /** Stop sending (socket stays open) after this many frames per connection. */
  stallAfter?: number;
  auth?: { user: string; password: string };
  /** Split every write into chunks of this size (odd sizes exercise the parser). */
  chunkSize?: number;
}

export class MjpegServer {
  private server: http.Server | undefined;
  private readonly sockets = new Set<import('node:net').Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Connections accepted on /video.mjpg. */
  connections = 0;
  framesSent = 0;
  url = '';

  constructor(readonly options: MjpegServerOptions) {
    if (options.frames.length === 0) throw new Error('an MJPEG server needs frames');
  }

  /** Listens on `port` (default: a free one the OS picks). */
  async start(listenPort = 0): Promise<string> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(listenPort, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private authorised(req: http.IncomingMessage): boolean {
    const { auth } = this.options;
    if (!auth) return true;
    const expected = `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;
    return req.headers.authorization === expected;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (!this.authorised(req)) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="camera"' }).end();
      return;
    }
    if (req.url === '/snapshot.jpg') {
      const frame = this.options.frames[this.framesSent++ % this.options.frames.length];
      res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': frame.length }).end(frame);
      return;
    }
    if (req.url !== '/video.mjpg') {
      res.writeHead(404).end();
      return;
    }
    this.connections++;
    const boundary = this.options.boundary ?? 'frameboundary';
    res.writeHead(200, { 'Content-Type': `multipart/x-mixed-replace; boundary=${boundary}`, 'Cache-Control': 'no-cache' });
    const intervalMs = this.options.fps ? 1000 / this.options.fps : 0;
    let sentHere = 0;
    const sendNext = () => {
      if (res.destroyed) return;
      if (this.options.dropAfter !== undefined && sentHere >= this.options.dropAfter) {
        res.socket?.destroy();
        return;
      }
      if (this.options.stallAfter !== undefined && sentHere >= this.options.stallAfter) return;
      const index = this.framesSent++;
      sentHere++;
      const part = this.part(index, boundary);
      const drained = this.write(res, part);
      const next = () => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          sendNext();
        }, intervalMs);
        this.timers.add(timer);
      };
      if (drained || intervalMs > 0) next();
      else res.once('drain', next);
    };
    sendNext();
  }

  private part(index: number, boundary: string): Buffer {
    const jpeg = this.options.frames[index % this.options.frames.length];
    const style = this.options.boundaryStyle ?? 'rfc';
    const line = style === 'bare' ? boundary : style === 'extra-dashes' ? `----${boundary}` : `--${boundary}`;
    let head = `${line}\r\n`;
    if (this.options.partHeaders !== false) {
      head += 'Content-Type: image/jpeg\r\n';
      if (this.options.contentLength !== false) head += `Content-Length: ${jpeg.length}\r\n`;
      head += '\r\n';
    }
    const part = Buffer.concat([Buffer.from(head, 'latin1'), jpeg, Buffer.from('\r\n')]);
    return this.options.mangle ? this.options.mangle(index, part) : part;
  }

  private write(res: http.ServerResponse, bytes: Buffer): boolean {
    const size = this.options.chunkSize;
    if (!size) return res.write(bytes);
    let drained = true;
    for (let i = 0; i < bytes.length; i += size) drained = res.write(bytes.subarray(i, i + size));
    return drained;
  }
}

/** The frames of an animated GIF as JPEGs (sharp reads GIF pages), at most `max`. */
export async function gifFramesAsJpeg(file: string, max = Infinity, width?: number): Promise<Buffer[]> {
  const { pages = 1 } = await sharp(file).metadata();
  const frames: Buffer[] = [];
  for (let page = 0; page < Math.min(pages, max); page++) {
    let image = sharp(file, { page });
    if (width) image = image.resize({ width });
    frames.push(await image.jpeg({ quality: 80 }).toBuffer());
  }
  return frames;
}

/** JPEG files as they are on disk. */
export function readJpegs(files: string[]): Buffer[] {
  return files.map((file) => fs.readFileSync(file));
}
