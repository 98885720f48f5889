import { healthReport, metricsContentType, metricsText } from '../../lib/metrics';
import { route, type AdminApp } from './route';

/** Prometheus metrics (text exposition) and the health report (503 when a component is down). */
export function healthRoutes(app: AdminApp): void {
  app.get('/porchlight/metrics', route('porchlight.read', async (_req, res) => {
    const text = await metricsText();
    res.set('Content-Type', metricsContentType);
    res.send(text);
  }));

  app.get('/porchlight/health', route('porchlight.read', async (_req, res) => {
    const report = await healthReport();
    res.status(report.ok ? 200 : 503);
    return report;
  }));
}
