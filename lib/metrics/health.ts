import { trackedBreakers, type CircuitBreaker } from '../process/circuit-breaker';
import { peekSharedPool } from '../workers/pool';

/** One component's state as `GET /porchlight/health` shows it. */
export interface ComponentHealth {
  ok: boolean;
  [detail: string]: unknown;
}

export type HealthCheck = () => ComponentHealth | Promise<ComponentHealth>;

export interface HealthReport {
  ok: boolean;
  /** `degraded` when any component is down. */
  status: 'ok' | 'degraded';
  /** Why, one line per component that is down: `<key>: <its reason>`. */
  reasons: string[];
  components: Record<string, ComponentHealth>;
}

/** What a component that is down gives as its reason (its `reason`, else its `error`, else its `state`). */
function reasonOf(component: ComponentHealth): string {
  const why = component.reason ?? component.error ?? component.state;
  return typeof why === 'string' && why ? why : 'down';
}

/**
 * Components register a check under a key such as `database:<file>` or
 * `camera:<node id>` while they run; the engine is checked through the shared
 * worker pool unless a check named `engine` replaces that.
 */
const checks = new Map<string, HealthCheck>();

export function registerHealthCheck(key: string, check: HealthCheck): () => void {
  checks.set(key, check);
  return () => {
    if (checks.get(key) === check) checks.delete(key);
  };
}

function poolHealth(): ComponentHealth {
  const pool = peekSharedPool();
  if (!pool) return { ok: true, state: 'idle', detail: 'no vision node deployed: no worker pool running' };
  const stats = pool.stats();
  return { ok: stats.threads > 0, state: 'running', workers: stats.threads, busy: stats.running, queued: stats.queued, crashes: stats.crashes, timeouts: stats.timeouts };
}

/** A tracked circuit breaker (lib/process) as `circuit:<name>`: down unless closed. */
function breakerHealth(breaker: CircuitBreaker): ComponentHealth {
  const stats = breaker.stats();
  return { ...stats, ok: stats.state === 'closed', detail: breaker.describe(), retryAt: stats.retryAt && new Date(stats.retryAt).toISOString() };
}

export async function healthReport(): Promise<HealthReport> {
  const components: Record<string, ComponentHealth> = {};
  if (!checks.has('engine')) components.engine = poolHealth();
  for (const breaker of trackedBreakers()) components[`circuit:${breaker.name}`] = breakerHealth(breaker);
  await Promise.all(
    [...checks].map(async ([key, check]) => {
      try {
        components[key] = await check();
      } catch (err) {
        components[key] = { ok: false, error: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
  const reasons = Object.entries(components)
    .filter(([, c]) => !c.ok)
    .map(([key, c]) => `${key}: ${reasonOf(c)}`);
  return { ok: reasons.length === 0, status: reasons.length === 0 ? 'ok' : 'degraded', reasons, components };
}
