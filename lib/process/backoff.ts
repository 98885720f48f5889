/**
 * Exponential backoff for reconnecting to a camera or restarting a child
 * process: initial, 2x, 4x ... up to a ceiling, back to the start after a
 * success. Shared by the camera sources and the gpiomon watcher, hence its own folder.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    readonly initialMs = 500,
    readonly maxMs = 30_000,
  ) {}

  /** The delay before the next attempt (and counts the attempt). */
  next(): number {
    const delay = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return delay;
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
