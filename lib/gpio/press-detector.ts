export interface PressOptions {
  /** A level must hold this long before it counts (contact bounce is shorter), ms. */
  debounceMs: number;
  /** Presses shorter than this are ignored (interference on a long wire), ms. */
  minPressMs: number;
  /** Held this long, a press also becomes a long press, ms (0 = off). */
  longPressMs: number;
  /** A press within this long of the previous one joins its event instead of starting a new one, ms. */
  cooldownMs: number;
}

export const DEFAULT_PRESS_OPTIONS: PressOptions = { debounceMs: 30, minPressMs: 50, longPressMs: 2_000, cooldownMs: 10_000 };

export interface Press {
  /** Wall-clock ms of the edge that began the press (before debouncing). */
  startedAt: number;
  /** True when the press falls within the cool-down of the previous one and joins its event. */
  joined: boolean;
  /** Presses in the current event so far, this one included. */
  count: number;
}

export interface PressCallbacks {
  press(press: Press): void;
  longPress(press: Press, heldMs: number): void;
  release?(press: Press, heldMs: number): void;
}

/**
 * Turns a button's raw level changes into presses: debounce, minimum press
 * length, long press, and the cool-down that folds repeated rings into one
 * event. Pure timing logic on `setTimeout` and `Date.now()` (no GPIO, no
 * Node-RED), so fake timers can drive it.
 */
export class PressDetector {
  private pressed = false; // the debounced level
  private rawPressed = false;
  private rawChangedAt = 0;
  private settleTimer: NodeJS.Timeout | undefined;
  private longTimer: NodeJS.Timeout | undefined;
  private current: Press | undefined;
  private lastPressAt: number | undefined;
  private simulatedRelease: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: PressOptions,
    private readonly callbacks: PressCallbacks,
  ) {}

  /** A raw level change from the pin (`pressed` is the logical level, after active-low). */
  edge(pressed: boolean, at = Date.now()): void {
    if (pressed === this.rawPressed) return;
    this.rawPressed = pressed;
    this.rawChangedAt = at;
    clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
    if (pressed === this.pressed) return; // bounced back before settling: nothing happened
    const holdMs = pressed ? Math.max(this.options.debounceMs, this.options.minPressMs) : this.options.debounceMs;
    const wait = Math.max(0, at + holdMs - Date.now());
    this.settleTimer = setTimeout(() => this.settle(pressed), wait);
  }

  /**
   * A whole press from a simulated button: down now, up after `holdMs`. It
   * skips debouncing (nothing bounces) but keeps cool-down and long press.
   */
  simulatePress(holdMs = 100): Press | undefined {
    if (this.pressed) return undefined;
    this.rawPressed = true;
    this.rawChangedAt = Date.now();
    this.settle(true);
    this.simulatedRelease = setTimeout(() => {
      this.rawPressed = false;
      this.rawChangedAt = Date.now();
      this.settle(false);
    }, holdMs);
    return this.current;
  }

  private settle(pressed: boolean): void {
    this.settleTimer = undefined;
    this.pressed = pressed;
    if (pressed) this.down(this.rawChangedAt);
    else this.up();
  }

  private down(startedAt: number): void {
    const joined = this.lastPressAt !== undefined && this.current !== undefined && startedAt - this.lastPressAt < this.options.cooldownMs;
    const press: Press = { startedAt: joined ? this.current!.startedAt : startedAt, joined, count: joined ? this.current!.count + 1 : 1 };
    this.current = press;
    this.lastPressAt = startedAt;
    this.callbacks.press(press);
    if (this.options.longPressMs > 0) {
      const wait = Math.max(0, startedAt + this.options.longPressMs - Date.now());
      this.longTimer = setTimeout(() => this.callbacks.longPress(press, Date.now() - startedAt), wait);
    }
  }

  private up(): void {
    clearTimeout(this.longTimer);
    this.longTimer = undefined;
    if (this.current && this.lastPressAt !== undefined) this.callbacks.release?.(this.current, this.rawChangedAt - this.lastPressAt);
  }

  get isPressed(): boolean {
    return this.pressed;
  }

  dispose(): void {
    clearTimeout(this.settleTimer);
    clearTimeout(this.longTimer);
    clearTimeout(this.simulatedRelease);
  }
}
