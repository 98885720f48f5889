import type { DoorbellEvent } from '../events/event';
import { newEventId } from '../events/event-id';
import { conciseOr, MAX_STATUS, type StatusWords } from '../events/status-words';
import { type Bias, GpiomonWatcher, type WatcherState } from './gpiomon';
import { type Press, PressDetector, type PressOptions } from './press-detector';

/** A doorbell's settings, read from the edit dialog. */
export interface DoorbellSettings {
  /** The node's id, in each event's source. */
  node: string;
  /** The door or camera the button rings at (msg.event.source.door), or null. */
  door: string | null;
  /** A simulated button (messages and the press route) rather than a GPIO line. */
  simulated: boolean;
  chip: string;
  line: number;
  bias: Bias;
  activeLow: boolean;
  press: PressOptions;
}

/** A press's message: `payload` "press" (output 1) or "long-press" (output 2). */
export type DoorbellMessage = {
  topic: 'doorbell';
  payload: 'press' | 'long-press';
  event: DoorbellEvent;
  press: { count: number; long: boolean; heldMs?: number };
};

/** Where the doorbell's messages, statuses and log lines go (the node). */
export interface DoorbellOutputs {
  /** Output 1: a new press; output 2: a long press, carrying the same event. */
  send(messages: [DoorbellMessage | null, DoorbellMessage | null]): void;
  status(words: StatusWords): void;
  log(line: string): void;
  warn(line: string): void;
}

/**
 * The status for a gpiomon watcher's state: "watching gpiochip0/17"; for a
 * problem "gpiochip0 not found · retry 2 s", or "gpiomon not installed" when
 * the problem takes the room; a long device path gives way to "button
 * failing · retry 2 s". Undefined for a state that changes nothing shown.
 */
export function watcherWords(state: WatcherState, detail: string, where: string): StatusWords | undefined {
  if (state === 'watching') return { tone: 'ready', text: `watching ${where}` };
  if (state !== 'restarting' && state !== 'error') return undefined;
  const retry = / \(retry in ([\d.]+) s\)$/.exec(detail);
  const problem = detail.replace(/ \(retry in [\d.]+ s\)$/, '');
  const suffix = retry ? ` · retry ${retry[1]} s` : '';
  const withRetry = conciseOr(problem, '', MAX_STATUS - suffix.length);
  const alone = conciseOr(problem, '');
  const text = withRetry ? `${withRetry}${suffix}` : alone || `button failing${suffix}`;
  return { tone: state === 'error' ? 'error' : 'warn', text, detail: problem };
}

/**
 * A doorbell button: presses (from a GPIO line through gpiomon, or simulated)
 * become press events. A new press sends a new event on output 1; a press
 * within the cool-down joins the current event (no message); a long press
 * sends the same event on output 2. The status shows the press for a second,
 * then what the button is watching again.
 */
export class DoorbellButton {
  private event: DoorbellEvent | undefined;
  private idle: StatusWords;
  private idleTimer: NodeJS.Timeout | undefined;
  private lastWarning = '';
  private readonly detector: PressDetector;
  private readonly watcher: GpiomonWatcher | undefined;
  private readonly where: string;

  constructor(
    private readonly settings: DoorbellSettings,
    private readonly out: DoorbellOutputs,
  ) {
    this.where = `${settings.chip}/${settings.line}`;
    this.idle = settings.simulated ? { tone: 'ready', text: 'simulated' } : { tone: 'warn', text: `starting ${this.where}` };
    this.detector = new PressDetector(settings.press, {
      press: (press) => this.pressed(press),
      longPress: (press, heldMs) => this.longPressed(press, heldMs),
      release: () => {
        clearTimeout(this.idleTimer);
        this.idleTimer = setTimeout(() => out.status(this.idle), 1_000);
      },
    });
    if (!settings.simulated) {
      this.watcher = new GpiomonWatcher({ chip: settings.chip, line: settings.line, bias: settings.bias, activeLow: settings.activeLow });
      this.watcher.on('edge', (edge) => this.detector.edge(edge.rising));
      this.watcher.on('state', (state, detail) => this.watcherChanged(state, detail));
    }
  }

  /** What each event says of where it came from (`msg.event.source`). */
  get source(): { node: string; door: string | null; chip: string; line: number | null } {
    const { node, door, chip, line, simulated } = this.settings;
    return simulated ? { node, door, chip: 'simulated', line: null } : { node, door, chip, line };
  }

  /** Shows the idle status and starts watching the line (a GPIO button). */
  start(): void {
    this.watcher?.start();
    this.out.status(this.idle);
  }

  /** A simulated press of `holdMs`; returns its event (a new one, or the one it joined). */
  simulatePress(holdMs: number): DoorbellEvent | undefined {
    this.detector.simulatePress(holdMs);
    return this.event;
  }

  private pressed(press: Press): void {
    if (press.joined && this.event) {
      this.out.status({ tone: 'ready', text: `press ${press.count} joined event ${this.event.id.slice(-6)}` });
      return;
    }
    this.event = { id: newEventId(), trigger: 'doorbell', startedAt: press.startedAt, source: this.source };
    this.out.status({ tone: 'ready', text: `pressed ${new Date(press.startedAt).toLocaleTimeString()}` });
    this.out.send([{ topic: 'doorbell', payload: 'press', event: this.event, press: { count: 1, long: false } }, null]);
  }

  private longPressed(press: Press, heldMs: number): void {
    if (!this.event) return;
    this.out.send([null, { topic: 'doorbell', payload: 'long-press', event: this.event, press: { count: press.count, long: true, heldMs } }]);
  }

  private watcherChanged(state: WatcherState, detail: string): void {
    const words = watcherWords(state, detail, this.where);
    if (!words) return;
    this.idle = words;
    if (state === 'watching') this.out.log(`gpio-doorbell watching ${detail}`);
    // A problem is told once, not at every retry.
    const warning = words.detail ?? '';
    if (warning && warning !== this.lastWarning) this.out.warn(`gpio-doorbell ${this.where}: ${warning}`);
    this.lastWarning = warning;
    this.out.status(words);
  }

  /** Stops the presses, the status timer and gpiomon. */
  close(): Promise<void> {
    this.detector.dispose();
    clearTimeout(this.idleTimer);
    return this.watcher ? this.watcher.stop() : Promise.resolve();
  }
}
