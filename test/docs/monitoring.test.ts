import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { helper } from '../support/node-red';
import { nodeFile, repoRoot } from '../support/paths';
import { tempDir } from '../support/temp';
import { waitUntil } from '../support/wait';

/**
 * docs/monitoring: the alert rules pass `promtool check rules`,
 * every alert has a `promtool test rules` case, and the dashboard and rules
 * use only metric names that a running Node-RED with Porchlight's nodes
 * deployed really serves on /porchlight/metrics.
 */
const monitoringDir = path.join(repoRoot, 'docs', 'monitoring');
const rulesFile = path.join(monitoringDir, 'porchlight-alerts.yml');
const rulesTestFile = path.join(monitoringDir, 'porchlight-alerts.test.yml');
const dashboardFile = path.join(monitoringDir, 'porchlight-dashboard.json');

/** Series Prometheus makes itself (not served by the target). */
const PROMETHEUS_SERIES = new Set(['up']);

const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'inf', 'nan']);

/** Metric names in a PromQL expression: identifiers outside label matchers, grouping clauses, ranges and strings, not called as functions. */
export function promqlMetricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (match[2] || PROMQL_WORDS.has(match[1].toLowerCase())) continue;
    names.add(match[1]);
  }
  return [...names];
}

/** `expr:` values of the rules file (one line, or a `|` block of deeper-indented lines). */
function ruleExpressions(yaml: string): string[] {
  const lines = yaml.split('\n');
  const exprs: string[] = [];
  lines.forEach((line, i) => {
    const m = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (!m) return;
    if (m[2].trim() !== '|') {
      exprs.push(m[2]);
      return;
    }
    const block: string[] = [];
    for (let j = i + 1; j < lines.length && (lines[j].trim() === '' || lines[j].search(/\S/) > m[1].length); j++) block.push(lines[j]);
    exprs.push(block.join('\n'));
  });
  return exprs;
}

function dashboardExpressions(dashboard: { panels: Array<{ targets?: Array<{ expr: string }> }>; templating?: { list: Array<{ query?: unknown }> } }): string[] {
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  for (const variable of dashboard.templating?.list ?? []) {
    const m = typeof variable.query === 'string' ? /^label_values\((\w+),/.exec(variable.query) : null;
    if (m) exprs.push(m[1]);
  }
  return exprs;
}

/** Sample names a Prometheus text exposition can hold: each family of a # TYPE line, with _bucket/_sum/_count for histograms and summaries. */
function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\w+)$/gm)) {
    names.add(m[1]);
    if (m[2] === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(m[1] + suffix);
    if (m[2] === 'summary') for (const suffix of ['_sum', '_count']) names.add(m[1] + suffix);
  }
  return names;
}

const promtool = spawnSync('promtool', ['--version']).status === 0;

describe('monitoring: Prometheus alert rules and Grafana dashboard', function () {
  this.timeout(120_000);

  it('extracts metric names from PromQL', () => {
    assert.deepEqual(
      promqlMetricNames('histogram_quantile(0.95, sum by (instance, le) (rate(porchlight_x_bucket{job="a",le!="1"}[5m]))) > 1 and on (instance) up == 0'),
      ['porchlight_x_bucket', 'up'],
    );
    assert.deepEqual(promqlMetricNames('predict_linear(a_b[6h], 24 * 3600) < 0 or changes(c:d[1h]) >= 2'), ['a_b', 'c:d']);
  });

  describe('with promtool', function () {
    before(function () {
      if (!promtool) {
        // CI installs Debian's prometheus package (.ci/run); a developer machine may not have it.
        if (process.env.CI) throw new Error('promtool not found: apt install prometheus');
        this.skip();
      }
    });

    it('passes promtool check rules', () => {
      const out = execFileSync('promtool', ['check', 'rules', rulesFile], { encoding: 'utf8' });
      assert.match(out, /SUCCESS: \d+ rules found/);
    });

    it('passes promtool test rules, with a case for every alert', () => {
      const out = execFileSync('promtool', ['test', 'rules', rulesTestFile], { encoding: 'utf8', cwd: monitoringDir });
      assert.match(out, /SUCCESS/);
      const alerts = [...fs.readFileSync(rulesFile, 'utf8').matchAll(/^\s*- alert: (\w+)/gm)].map((m) => m[1]);
      const tested = new Set([...fs.readFileSync(rulesTestFile, 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1]));
      assert.ok(alerts.length >= 7, `${alerts.length} alerts`);
      assert.deepEqual(alerts.filter((a) => !tested.has(a)), [], 'alerts without a promtool test case');
      // Each case asserts the alert firing at least once (an expected alert with labels), not only silence.
      for (const alert of alerts) {
        assert.match(fs.readFileSync(rulesTestFile, 'utf8'), new RegExp(`alertname: ${alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`), `${alert} is never shown firing`);
      }
    });

    it('fails promtool test rules when an alert breaks (the tests are not vacuous)', () => {
      const dir = tempDir('porchlight-rules-');
      try {
        // The latency threshold raised to 5 s: the "slow" door's 1.9 s p95 no longer fires.
        fs.writeFileSync(path.join(dir, 'porchlight-alerts.yml'), fs.readFileSync(rulesFile, 'utf8').replace('(rate(porchlight_trigger_to_verdict_seconds_bucket[15m]))) > 1', '(rate(porchlight_trigger_to_verdict_seconds_bucket[15m]))) > 5'));
        fs.copyFileSync(rulesTestFile, path.join(dir, 'porchlight-alerts.test.yml'));
        const run = spawnSync('promtool', ['test', 'rules', 'porchlight-alerts.test.yml'], { cwd: dir, encoding: 'utf8' });
        assert.notEqual(run.status, 0);
        assert.match(run.stdout + run.stderr, /PorchlightVerdictLatencyHigh/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('against /porchlight/metrics of a running Node-RED', () => {
    let dir: string;
    let exposition: string;

    before(async () => {
      dir = tempDir('porchlight-monitoring-');
      const nodes = ['porchlight-db', 'event-log', 'frame-buffer', 'gpio-doorbell'].map((name) => require(nodeFile(name)));
      await helper.load(nodes, [
        { id: 'db', type: 'porchlight-db', file: path.join(dir, 'porchlight.db'), snapshotDir: path.join(dir, 'snapshots') },
        { id: 'bell', type: 'porchlight-gpio-doorbell', backend: 'simulated', cooldown: 0, longPress: 0, wires: [['fb', 'el'], []] },
        { id: 'fb', type: 'porchlight-frame-buffer', source: 'msg', preRoll: 0, burstCount: 0, output: 'single', wires: [[]] },
        { id: 'el', type: 'porchlight-event-log', db: 'db', wires: [[], []] },
      ]);
      // The database opens asynchronously: wait until its size is reported.
      await waitUntil(
        async () => {
          exposition = (await helper.request().get('/porchlight/metrics').expect(200)).text;
          return /^porchlight_db_size_bytes\{/m.test(exposition);
        },
        { timeout: 30_000, interval: 100, message: 'porchlight_db_size_bytes in /porchlight/metrics' },
      );
    });

    after(async () => {
      await helper.unload();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('serves the process metrics, the event-loop lag histogram and the health gauges', () => {
      for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'process_start_time_seconds', 'nodejs_heap_size_used_bytes']) {
        assert.match(exposition, new RegExp(`^${name} \\d`, 'm'), name);
      }
      assert.match(exposition, /^porchlight_event_loop_lag_seconds_count \d+/m);
      assert.match(exposition, /^porchlight_component_up\{component="camera",name="fb"\} 1$/m);
      assert.match(exposition, new RegExp(`^porchlight_component_up\\{component="database",name="${path.join(dir, 'porchlight.db').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}"\\} 1$`, 'm'));
      assert.match(exposition, /^porchlight_disk_free_bytes\{file="[^"]+"\} [1-9]/m);
      assert.match(exposition, /^porchlight_snapshot_budget_bytes\{file="[^"]+"\} [1-9]/m);
    });

    it('dashboard and alert rules use only metrics the endpoint serves', () => {
      const exposed = exposedNames(exposition);
      const dashboard = JSON.parse(fs.readFileSync(dashboardFile, 'utf8'));
      const fromDashboard = dashboardExpressions(dashboard).flatMap(promqlMetricNames);
      const fromRules = ruleExpressions(fs.readFileSync(rulesFile, 'utf8')).flatMap(promqlMetricNames);
      assert.ok(fromDashboard.length > 20 && fromRules.length > 10, `${fromDashboard.length} dashboard and ${fromRules.length} rule references`);
      const unknown = [...new Set([...fromDashboard, ...fromRules])].filter((name) => !exposed.has(name) && !PROMETHEUS_SERIES.has(name));
      assert.deepEqual(unknown, [], 'metric names not served by /porchlight/metrics');
    });

    it('dashboard has the panels an operator needs', () => {
      const dashboard = JSON.parse(fs.readFileSync(dashboardFile, 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
      const uses = (metric: string) => dashboard.panels.some((p) => p.targets.some((t) => t.expr.includes(metric)));
      for (const metric of [
        'porchlight_trigger_to_verdict_seconds_bucket', // press -> verdict latency
        'porchlight_events_total', // verdicts per kind
        'porchlight_queue_depth',
        'porchlight_frames_dropped_total',
        'porchlight_workers_busy', // worker utilisation
        'porchlight_event_loop_lag_seconds_bucket',
        'process_resident_memory_bytes',
        'process_cpu_seconds_total',
        'porchlight_db_size_bytes',
        'porchlight_event_backlog', // replication backlog
        'porchlight_component_up{component="camera"', // camera state
      ]) {
        assert.ok(uses(metric), `no panel uses ${metric}`);
      }
    });
  });
});
