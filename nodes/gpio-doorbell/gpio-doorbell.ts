import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { awaitCommit } from '../../lib/eventlog';
import { type DoorbellEvent, newEventId } from '../../lib/events';
import { type Bias, DEFAULT_PRESS_OPTIONS, GpiomonWatcher, type Press, PressDetector } from '../../lib/gpio';
import { errorStatus, readyStatus, warnStatus } from '../shared/status';
import { NODE_DEFAULTS, numberSetting } from '../../lib/settings';
import { answerJsonErrors } from '../shared/admin-api';

interface GpioDoorbellDef extends NodeDef {
  /** The door or camera this button rings at, carried in msg.event.source.door (default: the node's name). */
  door?: string;
  backend: 'gpiod' | 'simulated';
  chip?: string;
  line?: string | number;
  bias?: Bias;
  activeLow?: boolean;
  debounce?: string | number;
  minPress?: string | number;
  longPress?: string | number;
  cooldown?: string | number;
}

/** What the admin route needs from a deployed doorbell. */
interface LiveDoorbell {
  press(holdMs: number): DoorbellEvent | undefined;
}

const doorbells = new Map<string, LiveDoorbell>();
const DEFAULT_SIMULATED_HOLD_MS = 100;
const MAX_SIMULATED_HOLD_MS = 60_000;

function holdFrom(value: unknown): number {
  return Math.min(MAX_SIMULATED_HOLD_MS, numberSetting(value, DEFAULT_SIMULATED_HOLD_MS));
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
 * gpio-doorbell: a button on a GPIO line (through libgpiod's gpiomon) or a
 * simulated one becomes a press event. Output 1: a new press (`msg.event`);
 * output 2: a long press, carrying the same event.
 */
export = function register(RED: NodeAPI): void {
  answerJsonErrors(RED);
  function GpioDoorbellNode(this: Node, def: GpioDoorbellDef) {
    RED.nodes.createNode(this, def);
    const simulated = def.backend !== 'gpiod';
    const chip = String(def.chip || 'gpiochip0');
    const line = Math.round(numberSetting(def.line, NODE_DEFAULTS['gpio-doorbell'].line));
    const door = (def.door || def.name || '').trim() || null;
    const source = simulated ? { node: this.id, door, chip: 'simulated', line: null } : { node: this.id, door, chip, line };
    let event: DoorbellEvent | undefined;
    let idleTimer: NodeJS.Timeout | undefined;
    let idleStatus = simulated ? readyStatus('simulated') : warnStatus(`starting ${chip}/${line}`);

    const detector = new PressDetector(
      {
        debounceMs: numberSetting(def.debounce, DEFAULT_PRESS_OPTIONS.debounceMs),
        minPressMs: numberSetting(def.minPress, DEFAULT_PRESS_OPTIONS.minPressMs),
        longPressMs: numberSetting(def.longPress, DEFAULT_PRESS_OPTIONS.longPressMs),
        cooldownMs: numberSetting(def.cooldown, DEFAULT_PRESS_OPTIONS.cooldownMs / 1000) * 1000,
      },
      {
        press: (press: Press) => {
          if (press.joined && event) {
            this.status(readyStatus(`press ${press.count} joined event ${event.id.slice(-6)}`));
            return;
          }
          event = { id: newEventId(), trigger: 'doorbell', startedAt: press.startedAt, source };
          this.status(readyStatus(`pressed ${new Date(press.startedAt).toLocaleTimeString()}`));
          this.send([{ topic: 'doorbell', payload: 'press', event, press: { count: 1, long: false } }, null]);
        },
        longPress: (press: Press, heldMs: number) => {
          if (!event) return;
          this.send([null, { topic: 'doorbell', payload: 'long-press', event, press: { count: press.count, long: true, heldMs } }]);
        },
        release: () => {
          // Show the press for a second, then what the button is watching again.
          clearTimeout(idleTimer);
          idleTimer = setTimeout(() => this.status(idleStatus), 1_000);
        },
      },
    );

    const press = (holdMs: number): DoorbellEvent | undefined => {
      detector.simulatePress(holdMs);
      return event;
    };
    doorbells.set(this.id, { press });

    let watcher: GpiomonWatcher | undefined;
    if (!simulated) {
      watcher = new GpiomonWatcher({ chip, line, bias: def.bias ?? 'pull-up', activeLow: def.activeLow !== false });
      watcher.on('edge', (edge) => detector.edge(edge.rising));
      let lastWarning = '';
      watcher.on('state', (state, detail) => {
        if (state === 'watching') idleStatus = readyStatus(`watching ${detail}`);
        else if (state === 'restarting') idleStatus = warnStatus(detail);
        else if (state === 'error') idleStatus = errorStatus(detail);
        else return;
        // Log a problem once, not at every retry.
        const warning = state === 'watching' ? '' : detail.replace(/ \(retry in [\d.]+ s\)$/, '');
        if (warning && warning !== lastWarning) this.warn(`gpio-doorbell ${chip}/${line}: ${warning}`);
        lastWarning = warning;
        this.status(idleStatus);
      });
      watcher.start();
    }
    this.status(idleStatus);

    // Any input message is a press: the simulated button, or a trigger from another node.
    this.on('input', (msg: NodeMessageInFlow, _send, done) => {
      press(holdFrom((msg as Record<string, unknown>).holdMs));
      done();
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      if (doorbells.get(this.id)?.press === press) doorbells.delete(this.id);
      detector.dispose();
      clearTimeout(idleTimer);
      (watcher ? watcher.stop() : Promise.resolve()).catch((err) => this.warn(err)).finally(done);
    });
  }

  RED.nodes.registerType('porchlight-gpio-doorbell', GpioDoorbellNode as never);

  /*
   * The editor's button and any HTTP client: POST /porchlight/doorbell/<node id>/press [{holdMs}].
   * With an event-log downstream, 200 means the press is committed to its SQLite file (a kill -9 an
   * instant later loses nothing); 503 means it was not (disk full, read-only or locked database: the
   * log keeps it in memory and retries); 202 means pressed but no event log confirmed it (none is
   * wired after this doorbell, or none answered within PRESS_COMMIT_WAIT_MS).
   */
  RED.httpAdmin.post('/porchlight/doorbell/:id/press', RED.auth.needsPermission('porchlight.write'), (req, res) => {
    const doorbell = doorbells.get(req.params.id);
    if (!doorbell) {
      res.status(404).json({ error: 'no such doorbell (deploy the flow first)' });
      return;
    }
    const event = doorbell.press(holdFrom(req.body?.holdMs));
    if (!event || !eventLogDownstream(RED, req.params.id)) {
      res.status(202).json({ event, logged: false, reason: 'no event-log node is wired after this doorbell: the press is not stored' });
      return;
    }
    awaitCommit(event.id, PRESS_COMMIT_WAIT_MS).then((outcome) => {
      if (outcome.state === 'committed') {
        res.json({ event, logged: true });
      } else if (outcome.state === 'refused') {
        const kept = outcome.retrying ? '; the event log keeps it and retries' : '';
        res.status(503).json({ error: { code: 'NOT_STORED', message: `the press was not stored: ${outcome.reason}${kept}` }, event, logged: false, retrying: outcome.retrying });
      } else {
        res.status(202).json({ event, logged: false, reason: `no event log confirmed the press within ${PRESS_COMMIT_WAIT_MS / 1000} s` });
      }
    }, () => undefined);
  });
};
