import type { Node, NodeAPI } from 'node-red';
import { httpStatusOf, PorchlightError } from '../../lib/errors';
import { awaitCommit } from '../../lib/eventlog';
import type { DoorbellEvent } from '../../lib/events';
import { route, type AdminApp } from './route';

/** Presses a deployed doorbell as its button would (`hold`: how long, as given; the node reads it) and returns the press's event. */
type Press = (hold: unknown) => DoorbellEvent | undefined;

const doorbells = new Map<string, Press>();

/** Lets the press route ring a gpio-doorbell node until the returned function is called (at close). */
export function registerDoorbell(nodeId: string, press: Press): () => void {
  doorbells.set(nodeId, press);
  return () => {
    if (doorbells.get(nodeId) === press) doorbells.delete(nodeId);
  };
}

/** How long the press route waits for an event log to commit the press before answering 202 (not confirmed). */
const PRESS_COMMIT_WAIT_MS = 10_000;

/**
 * Whether an event-log node is downstream of `nodeId` in the deployed flow,
 * following wires (a link out is wired to its link ins at deploy). A function
 * node may still drop the message: the route's wait has a time limit anyway.
 */
function eventLogDownstream(RED: NodeAPI, nodeId: string): boolean {
  const seen = new Set<string>([nodeId]);
  const todo = [nodeId];
  while (todo.length > 0) {
    const node = RED.nodes.getNode(todo.pop()!) as (Node & { wires?: string[][] }) | null;
    for (const next of (node?.wires ?? []).flat()) {
      if (seen.has(next)) continue;
      seen.add(next);
      if ((RED.nodes.getNode(next) as Node | null)?.type === 'porchlight-event-log') return true;
      todo.push(next);
    }
  }
  return false;
}

/**
 * The editor's button and any HTTP client: POST /porchlight/doorbell/<node id>/press [{holdMs}].
 * With an event-log downstream, 200 means the press is committed to its SQLite file (a kill -9 an
 * instant later loses nothing); 503 means it was not (disk full, read-only or locked database: the
 * log keeps it in memory and retries); 202 means pressed but no event log confirmed it (none is
 * wired after this doorbell, or none answered within PRESS_COMMIT_WAIT_MS).
 */
export function doorbellRoutes(RED: NodeAPI, app: AdminApp): void {
  app.post('/porchlight/doorbell/:id/press', route('porchlight.write', async (req, res) => {
    const press = doorbells.get(req.params.id);
    if (!press) throw new PorchlightError('NOT_FOUND', 'no such doorbell (deploy the flow first)');
    const event = press((req.body as { holdMs?: unknown } | undefined)?.holdMs);
    if (!event || !eventLogDownstream(RED, req.params.id)) {
      res.status(202);
      return { event, logged: false, reason: 'no event-log node is wired after this doorbell: the press is not stored' };
    }
    const outcome = await awaitCommit(event.id, PRESS_COMMIT_WAIT_MS);
    if (outcome.state === 'committed') return { event, logged: true };
    if (outcome.state === 'refused') {
      const kept = outcome.retrying ? '; the event log keeps it and retries' : '';
      res.status(httpStatusOf('NOT_STORED'));
      return { error: { code: 'NOT_STORED', message: `the press was not stored: ${outcome.reason}${kept}` }, event, logged: false, retrying: outcome.retrying };
    }
    res.status(202);
    return { event, logged: false, reason: `no event log confirmed the press within ${PRESS_COMMIT_WAIT_MS / 1000} s` };
  }));
}
