import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { type DoorbellEvent, newEventId } from '../../lib/events';
import { type Bias, DEFAULT_PRESS_OPTIONS, GpiomonWatcher, type Press, PressDetector } from '../../lib/gpio';
import { conciseOr, errorStatus, MAX_STATUS, readyStatus, warnStatus } from '../shared/status';
import { NODE_DEFAULTS, numberSetting } from '../../lib/settings';
import { registerAdminHttp, registerDoorbell } from '../admin-http';

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

const DEFAULT_SIMULATED_HOLD_MS = 100;
const MAX_SIMULATED_HOLD_MS = 60_000;

function holdFrom(value: unknown): number {
  return Math.min(MAX_SIMULATED_HOLD_MS, numberSetting(value, DEFAULT_SIMULATED_HOLD_MS));
}

/**
 * gpio-doorbell: a button on a GPIO line (through libgpiod's gpiomon) or a
 * simulated one becomes a press event. Output 1: a new press (`msg.event`);
 * output 2: a long press, carrying the same event.
 */
export = function register(RED: NodeAPI): void {
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

    /** A simulated press of `hold` ms (a message's or the press route's holdMs), returning its event. */
    const press = (hold: unknown): DoorbellEvent | undefined => {
      detector.simulatePress(holdFrom(hold));
      return event;
    };
    const stopPressRoute = registerDoorbell(this.id, press);

    let watcher: GpiomonWatcher | undefined;
    if (!simulated) {
      watcher = new GpiomonWatcher({ chip, line, bias: def.bias ?? 'pull-up', activeLow: def.activeLow !== false });
      watcher.on('edge', (edge) => detector.edge(edge.rising));
      let lastWarning = '';
      watcher.on('state', (state, detail) => {
        // Short under the node ("watching gpiochip0/17"); the problem itself is logged below, once.
        if (state === 'watching') idleStatus = readyStatus(`watching ${chip}/${line}`);
        else if (state === 'restarting' || state === 'error') {
          // "gpiochip0 not found · retry 2 s", or "gpiomon not installed" when the problem takes the room; a long
          // device path gives way to "button not working · retry 2 s".
          const retry = / \(retry in ([\d.]+) s\)$/.exec(detail);
          const problem = detail.replace(/ \(retry in [\d.]+ s\)$/, '');
          const suffix = retry ? ` · retry ${retry[1]} s` : '';
          const withRetry = conciseOr(problem, '', MAX_STATUS - suffix.length);
          const alone = conciseOr(problem, '');
          const text = withRetry ? `${withRetry}${suffix}` : alone || `button not working${suffix}`;
          idleStatus = state === 'error' ? { ...errorStatus(detail), text } : warnStatus(text);
        } else return;
        if (state === 'watching') this.log(`gpio-doorbell watching ${detail}`);
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
      press((msg as Record<string, unknown>).holdMs);
      done();
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      stopPressRoute();
      detector.dispose();
      clearTimeout(idleTimer);
      (watcher ? watcher.stop() : Promise.resolve()).catch((err) => this.warn(err)).finally(done);
    });
  }

  RED.nodes.registerType('porchlight-gpio-doorbell', GpioDoorbellNode as never);
  registerAdminHttp(RED);
};
