/** Every /porchlight/ admin route with a concrete URL, and a flow that deploys every node (shared by the security and fuzz tests). */
import path from 'node:path';

export const ALL_NODES = ['porchlight-engine', 'porchlight-db', 'gpio-doorbell', 'frame-buffer', 'face-detect', 'face-recognize', 'face-db', 'event-log'];
export const EVENT = '01JZ0000000000000000000000';

/** Every admin route with a concrete URL; writes carry a body that is refused before anything is changed or downloaded. */
export const ROUTES: Record<string, { url: string; body?: object; write?: true }> = {
  'GET /porchlight/faces': { url: 'porchlight/faces' },
  'GET /porchlight/faces/:id': { url: 'porchlight/faces/999999' },
  'GET /porchlight/faces/by-name/:name': { url: 'porchlight/faces/by-name/Nobody' },
  'GET /porchlight/faces/:id/crops/:faceId': { url: 'porchlight/faces/999999/crops/1' },
  'POST /porchlight/faces': { url: 'porchlight/faces', body: { name: 'Eve' }, write: true },
  'DELETE /porchlight/faces/:id': { url: 'porchlight/faces/999999', write: true },
  'DELETE /porchlight/faces/by-name/:name': { url: 'porchlight/faces/by-name/Nobody', write: true },
  'GET /porchlight/events': { url: 'porchlight/events' },
  'GET /porchlight/events.csv': { url: 'porchlight/events.csv' },
  'GET /porchlight/events.json': { url: 'porchlight/events.json' },
  'GET /porchlight/events/:id': { url: `porchlight/events/${EVENT}` },
  'GET /porchlight/events/:id/snapshot.jpg': { url: `porchlight/events/${EVENT}/snapshot.jpg` },
  'GET /porchlight/events/:id/thumbnail.jpg': { url: `porchlight/events/${EVENT}/thumbnail.jpg` },
  'GET /porchlight/events/:id/faces/:face/crop.jpg': { url: `porchlight/events/${EVENT}/faces/1/crop.jpg` },
  'DELETE /porchlight/events/:id': { url: `porchlight/events/${EVENT}`, write: true },
  'GET /porchlight/metrics': { url: 'porchlight/metrics' },
  'GET /porchlight/health': { url: 'porchlight/health' },
  'GET /porchlight/models': { url: 'porchlight/models' },
  'POST /porchlight/models/install': { url: 'porchlight/models/install', body: {}, write: true },
  'GET /porchlight/camera/:id/latest.jpg': { url: 'porchlight/camera/fb/latest.jpg' },
  // A camera that has sent no frame yet holds its stream's headers back: an unknown one answers at once.
  'GET /porchlight/camera/:id/stream.mjpeg': { url: 'porchlight/camera/no-such-camera/stream.mjpeg' },
  'POST /porchlight/doorbell/:id/press': { url: 'porchlight/doorbell/bell/press', body: {}, write: true },
  'GET /porchlight/visitors': { url: 'porchlight/visitors' },
  'POST /porchlight/visitors/find': { url: 'porchlight/visitors/find', body: {} },
  'GET /porchlight/visitors/:id': { url: 'porchlight/visitors/999999' },
  'GET /porchlight/visitors/:id/faces/:faceId/crop': { url: 'porchlight/visitors/999999/faces/1/crop' },
  'POST /porchlight/visitors/:id/name': { url: 'porchlight/visitors/999999/name', body: {}, write: true },
  'POST /porchlight/visitors/:id/merge': { url: 'porchlight/visitors/999999/merge', body: {}, write: true },
  'POST /porchlight/visitors/:id/dismiss': { url: 'porchlight/visitors/999999/dismiss', body: {}, write: true },
  'POST /porchlight/events/:id/faces/:face/label': { url: `porchlight/events/${EVENT}/faces/1/label`, body: { verdict: 'reject' }, write: true },
  'GET /porchlight/calibration': { url: 'porchlight/calibration?far=0.01' },
  'POST /porchlight/calibration/apply': { url: 'porchlight/calibration/apply', body: { far: 0.01 }, write: true },
  'POST /porchlight/calibration/clear': { url: 'porchlight/calibration/clear', body: {}, write: true },
  'GET /porchlight/calibration/history': { url: 'porchlight/calibration/history' },
};

/** One of every node, on a database in `userDir`. */
export function allNodesFlow(userDir: string): object[] {
  return [
    { id: 'tab', type: 'tab', label: 'auth' },
    { id: 'eng', type: 'porchlight-engine', threads: 1 },
    { id: 'db', type: 'porchlight-db', file: path.join(userDir, 'porchlight.db'), snapshotDir: path.join(userDir, 'snapshots') },
    { id: 'bell', type: 'porchlight-gpio-doorbell', z: 'tab', backend: 'simulated', wires: [[], []] },
    { id: 'fb', type: 'porchlight-frame-buffer', z: 'tab', source: 'msg', wires: [[]] },
    { id: 'fd', type: 'porchlight-face-detect', z: 'tab', engine: 'eng', wires: [[], []] },
    { id: 'fr', type: 'porchlight-face-recognize', z: 'tab', engine: 'eng', db: 'db', wires: [[], [], [], []] },
    { id: 'fdb', type: 'porchlight-face-db', z: 'tab', db: 'db', engine: 'eng', wires: [[]] },
    { id: 'el', type: 'porchlight-event-log', z: 'tab', db: 'db', wires: [[], []] },
  ];
}
