/**
 * Porchlight's admin HTTP API: every `/porchlight/*` route on Node-RED's
 * admin server, registered here and only here, each behind its permission
 * (`porchlight.read` for reads, `porchlight.write` for every change), each
 * failing with `{error: {code, message}}` and the status of its code.
 *
 * Every node module of the package calls `registerAdminHttp` from its
 * register function; the first call in a runtime registers the routes, the
 * others find them there. So the whole API is there whichever of the nodes
 * are installed or deployed, also in a runtime that loads node files without
 * the package's plugins (nodesDir, node-red-node-test-helper). A route whose
 * node is not deployed answers 404 `NOT_FOUND`. The dashboard's sign-in routes
 * (`/porchlight/dashboard/*`) stay with the dashboard-auth plugin: they are
 * the ones open without a token, and exist only where the dashboard lock does.
 */
import type { NodeAPI } from 'node-red';
import { calibrationRoutes } from './calibration';
import { cameraRoutes } from './camera';
import { doorbellRoutes } from './doorbell';
import { eventRoutes } from './events';
import { faceRoutes } from './faces';
import { healthRoutes } from './health';
import { modelRoutes } from './models';
import { adminApp, answerJsonErrors, type RouteEntry } from './route';
import { visitorRoutes } from './visitors';

export { registerCamera } from './camera';
export { registerDoorbell } from './doorbell';
export { registerEventReader } from './events';
export { sendError, type Permission, type RouteEntry } from './route';

/** The routes registered on each runtime's admin app. */
const registered = new WeakMap<object, RouteEntry[]>();

/** The route table registered on an admin app (`RED.httpAdmin`), or undefined when none is. */
export function routeTable(httpAdmin: object): readonly RouteEntry[] | undefined {
  return registered.get(httpAdmin);
}

/** Registers every admin route on `RED.httpAdmin` once; returns the route table (method, path, permission). */
export function registerAdminHttp(RED: NodeAPI): readonly RouteEntry[] {
  const known = registered.get(RED.httpAdmin);
  if (known) return known;
  const table: RouteEntry[] = [];
  registered.set(RED.httpAdmin, table);
  answerJsonErrors(RED);
  const app = adminApp(RED, table);
  faceRoutes(RED, app);
  visitorRoutes(RED, app);
  calibrationRoutes(RED, app);
  eventRoutes(app);
  healthRoutes(app);
  modelRoutes(RED, app);
  cameraRoutes(app);
  doorbellRoutes(RED, app);
  return table;
}
