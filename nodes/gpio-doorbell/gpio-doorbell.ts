import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { type Bias, BIASES, DEFAULT_PRESS_OPTIONS, DoorbellButton, type DoorbellSettings } from '../../lib/gpio';
import { toneStatus } from '../shared/status';
import { choiceSetting, flagSetting, NODE_DEFAULTS, numberSetting } from '../../lib/settings';
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

const DEFAULTS = NODE_DEFAULTS['gpio-doorbell'];

function buttonSettings(def: GpioDoorbellDef, node: string): DoorbellSettings {
  return {
    node,
    door: (def.door || def.name || '').trim() || null,
    simulated: choiceSetting(def.backend, DEFAULTS.backend, ['simulated', 'gpiod']) !== 'gpiod',
    chip: String(def.chip || 'gpiochip0'),
    line: Math.round(numberSetting(def.line, DEFAULTS.line)),
    bias: choiceSetting<Bias>(def.bias, DEFAULTS.bias, BIASES),
    activeLow: flagSetting(def.activeLow, DEFAULTS.activeLow),
    press: {
      debounceMs: numberSetting(def.debounce, DEFAULT_PRESS_OPTIONS.debounceMs),
      minPressMs: numberSetting(def.minPress, DEFAULT_PRESS_OPTIONS.minPressMs),
      longPressMs: numberSetting(def.longPress, DEFAULT_PRESS_OPTIONS.longPressMs),
      cooldownMs: numberSetting(def.cooldown, DEFAULT_PRESS_OPTIONS.cooldownMs / 1000) * 1000,
    },
  };
}

/**
 * gpio-doorbell: a button on a GPIO line (through libgpiod's gpiomon) or a
 * simulated one becomes a press event (lib/gpio DoorbellButton). Output 1: a
 * new press (`msg.event`); output 2: a long press, carrying the same event.
 */
export = function register(RED: NodeAPI): void {
  function GpioDoorbellNode(this: Node, def: GpioDoorbellDef) {
    RED.nodes.createNode(this, def);
    const button = new DoorbellButton(
      buttonSettings(def, this.id),
      {
        send: (messages) => this.send(messages),
        status: (words) => this.status(toneStatus(words)),
        log: (line) => this.log(line),
        warn: (line) => this.warn(line),
      },
    );
    // A simulated press of a message's or the press route's holdMs, returning its event.
    const stopPressRoute = registerDoorbell(this.id, (hold) => button.simulatePress(holdFrom(hold)));
    button.start();

    // Any input message is a press: the simulated button, or a trigger from another node.
    this.on('input', (msg: NodeMessageInFlow, _send, done) => {
      button.simulatePress(holdFrom((msg as Record<string, unknown>).holdMs));
      done();
    });

    this.on('close', (_removed: boolean, done: () => void) => {
      stopPressRoute();
      button.close().catch((err) => this.warn(err)).finally(done);
    });
  }

  RED.nodes.registerType('porchlight-gpio-doorbell', GpioDoorbellNode as never);
  registerAdminHttp(RED);
};
