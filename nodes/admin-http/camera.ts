import type { ServerResponse } from 'node:http';
import { PorchlightError } from '../../lib/errors';
import type { FrameRing, StoredFrame } from '../../lib/camera';
import { route, type AdminApp } from './route';

const MAX_VIEWERS_PER_CAMERA = 8;
const LIVE_BOUNDARY = 'porchlight-frame';

function writeLivePart(res: ServerResponse, jpeg: Buffer): void {
  res.write(`--${LIVE_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`);
  res.write(jpeg);
  res.write('\r\n');
}

/**
 * A frame-buffer's live view: its latest frame and its MJPEG viewers. Each
 * frame goes to every viewer that keeps up; a slow viewer skips frames rather
 * than queueing them, and one that takes no data for `writeTimeoutMs` (a
 * client that stopped reading, a dead link with a full send buffer) is
 * dropped, checked on every frame and every second, so stalled viewers never
 * hold the camera's viewer slots for good.
 */
class LiveView {
  readonly viewers = new Set<ServerResponse>();
  /** Viewers whose socket stopped taking data, since when (ms). */
  private readonly stalledSince = new Map<ServerResponse, number>();
  private readonly timer: NodeJS.Timeout;
  private readonly onFrame = (frame: StoredFrame) => {
    const now = Date.now();
    for (const res of this.viewers) {
      if (!res.writableNeedDrain) writeLivePart(res, frame.jpeg);
      else if (!this.stalledSince.has(res)) this.stalledSince.set(res, now);
    }
    this.dropStalled(now);
  };

  constructor(
    readonly ring: FrameRing,
    private readonly writeTimeoutMs: number,
  ) {
    ring.on('frame', this.onFrame);
    this.timer = setInterval(() => this.dropStalled(), 1000); // also when no frame comes
    this.timer.unref();
  }

  dropStalled(now = Date.now()): void {
    for (const [res, since] of this.stalledSince) {
      if (now - since < this.writeTimeoutMs) continue;
      this.stalledSince.delete(res);
      this.viewers.delete(res);
      res.destroy();
    }
  }

  /** Starts streaming to a viewer (its latest frame at once), until it goes away. */
  watch(req: { on(event: 'close', listener: () => void): unknown }, res: ServerResponse): void {
    this.dropStalled();
    if (this.viewers.size >= MAX_VIEWERS_PER_CAMERA) throw new PorchlightError('QUEUE_FULL', `at most ${MAX_VIEWERS_PER_CAMERA} live viewers per camera`);
    res.writeHead(200, {
      'Content-Type': `multipart/x-mixed-replace; boundary=${LIVE_BOUNDARY}`,
      'Cache-Control': 'no-store',
      Connection: 'close',
    });
    const latest = this.ring.latest();
    if (latest) writeLivePart(res, latest.jpeg);
    this.viewers.add(res);
    res.on('drain', () => this.stalledSince.delete(res));
    req.on('close', () => {
      this.viewers.delete(res);
      this.stalledSince.delete(res);
    });
  }

  close(): void {
    clearInterval(this.timer);
    this.ring.off('frame', this.onFrame);
    for (const res of this.viewers) res.end();
    this.viewers.clear();
    this.stalledSince.clear();
  }
}

const cameras = new Map<string, LiveView>();

/**
 * Shows a frame-buffer node's ring on the admin API (`/porchlight/camera/<node id>/...`)
 * until the returned function is called (at close: its viewers are ended).
 */
export function registerCamera(nodeId: string, ring: FrameRing, options: { writeTimeoutMs: number }): () => void {
  const live = new LiveView(ring, options.writeTimeoutMs);
  cameras.set(nodeId, live);
  return () => {
    live.close();
    if (cameras.get(nodeId) === live) cameras.delete(nodeId);
  };
}

function cameraOf(id: string): LiveView {
  const camera = cameras.get(id);
  if (!camera) throw new PorchlightError('NOT_FOUND', 'no such camera');
  return camera;
}

/** The latest frame of a camera, and its live MJPEG stream. */
export function cameraRoutes(app: AdminApp): void {
  app.get('/porchlight/camera/:id/latest.jpg', route('porchlight.read', (req, res) => {
    const frame = cameraOf(req.params.id).ring.latest();
    if (!frame) throw new PorchlightError('NOT_FOUND', 'no frame yet');
    res.set({ 'Content-Type': 'image/jpeg', 'Cache-Control': 'no-store', 'X-Captured-At': String(frame.capturedAt) });
    res.send(frame.jpeg);
  }));

  app.get('/porchlight/camera/:id/stream.mjpeg', route('porchlight.read', (req, res) => cameraOf(req.params.id).watch(req, res)));
}
