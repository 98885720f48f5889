import { performance } from 'node:perf_hooks';
import { waitUntil } from '../test/support/wait';
import type { SceneKey } from '../scripts/demo-media';

/** The demo doorbell's cool-down: presses closer than this join one event. */
export const DEMO_COOLDOWN_MS = 3_200;

/** A JSON (or text) call on the demo's admin API; anything but 2xx throws. */
export type DemoCall = (method: string, route: string, body?: unknown) => Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function demoCaller(baseUrl: string): DemoCall {
  return async (method, route, body) => {
    const response = await fetch(`${baseUrl}${route}`, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
    return response.headers.get('content-type')?.includes('json') ? response.json() : response.text();
  };
}

/**
 * Puts `visitor` in front of the demo's camera, waits out the cool-down,
 * presses, and waits for the event to end in the log (completed or failed).
 * Returns the stored event and the ms from the press to seeing it end.
 */
export async function ringDemo<T extends { status: string }>(call: DemoCall, visitor: SceneKey, timeoutMs = 30_000): Promise<{ stored: T; seen: number }> {
  await call('POST', `inject/pl_demo_${visitor}`);
  await new Promise((resolve) => setTimeout(resolve, DEMO_COOLDOWN_MS));
  const pressedAt = performance.now();
  const { event } = await call('POST', 'porchlight/doorbell/pl_doorbell/press');
  const stored = await waitUntil(
    async () => {
      const got: T = await call('GET', `porchlight/events/${event.id}`);
      return got.status === 'completed' || got.status === 'failed' ? got : undefined;
    },
    { timeout: timeoutMs, interval: 10, message: `a verdict for ${event.id}` },
  );
  return { stored, seen: performance.now() - pressedAt };
}
