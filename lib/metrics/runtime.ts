import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { trackedBreakers, type CircuitState } from '../process/circuit-breaker';
import { healthReport } from './health';

/**
 * Process and component metrics on Porchlight's own registry:
 * prom-client's default collectors (process CPU, RSS, heap, handles, start
 * time, GC, libuv lag summary), an event-loop lag histogram of Porchlight's
 * own, and each `/porchlight/health` component as a 0/1 gauge (cameras with
 * their last frame's age) so alerts need no JSON scraping.
 */

/** Timers and clock as they were when this module loaded: a test's fake clock must not stop (or spin on) the lag sampler. */
const realSetTimeout = globalThis.setTimeout;
const realNow = performance.now.bind(performance);

export const LAG_SAMPLE_MS = 500;

/**
 * Samples the event loop's lag every `LAG_SAMPLE_MS`: how late a timer fires
 * (an unref'd timer: it never keeps Node-RED running).
 */
function startLagSampler(observe: (seconds: number) => void): void {
  const tick = () => {
    const planned = realNow() + LAG_SAMPLE_MS;
    realSetTimeout(() => {
      observe(Math.max(0, realNow() - planned) / 1000);
      tick();
    }, LAG_SAMPLE_MS).unref();
  };
  tick();
}

/** Splits a health key such as `camera:<node id>` or `database:<file>` into its component and name. */
export function healthKeyLabels(key: string): { component: string; name: string } {
  const colon = key.indexOf(':');
  return colon < 0 ? { component: key, name: '' } : { component: key.slice(0, colon), name: key.slice(colon + 1) };
}

export function registerRuntimeMetrics(registry: Registry): void {
  const registers = [registry];
  collectDefaultMetrics({ register: registry });

  const lag = new Histogram({
    name: 'porchlight_event_loop_lag_seconds',
    help: `How late a timer fires on Node-RED's event loop (sampled every ${LAG_SAMPLE_MS} ms).`,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  startLagSampler((seconds) => lag.observe(seconds));

  new Gauge({
    name: 'porchlight_component_up',
    help: 'Each component of /porchlight/health: 1 when ok, 0 when down (component: camera, database, event-replication, engine, backend...; name: node id or file).',
    labelNames: ['component', 'name'] as const,
    registers,
    async collect() {
      const report = await healthReport();
      this.reset();
      for (const [key, state] of Object.entries(report.components)) this.set(healthKeyLabels(key), state.ok ? 1 : 0);
    },
  });

  const stateValue: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };
  new Gauge({
    name: 'porchlight_circuit_state',
    help: 'Each circuit breaker (camera <source>, shared log, model <files>): 0 closed, 1 half-open (one trial call), 2 open (no calls until its cool-off ends).',
    labelNames: ['breaker'] as const,
    registers,
    collect() {
      this.reset();
      for (const breaker of trackedBreakers()) this.set({ breaker: breaker.name }, stateValue[breaker.state]);
    },
  });
  for (const [name, help, read] of [
    ['porchlight_circuit_opened_total', 'Times each circuit breaker opened (since its stage started).', (s: { opened: number }) => s.opened],
    ['porchlight_circuit_rejected_total', 'Calls each open circuit breaker refused (since its stage started).', (s: { rejected: number }) => s.rejected],
  ] as const) {
    new Counter({
      name,
      help,
      labelNames: ['breaker'] as const,
      registers,
      collect() {
        this.reset();
        for (const breaker of trackedBreakers()) this.inc({ breaker: breaker.name }, read(breaker.stats()));
      },
    });
  }

  new Gauge({
    name: 'porchlight_camera_frame_age_seconds',
    help: 'Age of the newest frame in each camera\'s buffer (absent before the first frame).',
    labelNames: ['name'] as const,
    registers,
    async collect() {
      const report = await healthReport();
      this.reset();
      for (const [key, state] of Object.entries(report.components)) {
        const { component, name } = healthKeyLabels(key);
        if (component === 'camera' && typeof state.lastFrameAgeMs === 'number') this.set({ name }, state.lastFrameAgeMs / 1000);
      }
    },
  });
}
