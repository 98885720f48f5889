import assert from 'node:assert/strict';
import { leastSquares, parseCsv, renderSvg, slopes, toCsv } from '../../bench/soak-chart';
import { withSection } from '../../bench/soak-docs';
import { parseLongSoakArgs } from '../../bench/soak-long';
import { parseSmaps, rssBreakdown } from '../../bench/soak-memory';

/** The long soak's arithmetic (bench/soak-chart.ts): slopes, CSV round trip, chart, docs section placement. */
describe('long soak figures', () => {
  it('fits a least squares line per hour with its standard error', () => {
    const exact = leastSquares('x', [0, 1, 2, 3], [10, 12, 14, 16]);
    assert.equal(exact.perHour, 2);
    assert.equal(exact.start, 10);
    assert.equal(exact.noise, 0);
    assert.equal(exact.growth, 6);
    assert.equal(exact.grows, true);
    // Noise around a flat line: slope within two standard errors of 0, so no growth.
    const flat = leastSquares('rss', [0, 1, 2, 3, 4, 5], [500, 507, 498, 505, 499, 503]);
    assert.ok(Math.abs(flat.perHour) < 2 * flat.stdError, JSON.stringify(flat));
    assert.equal(flat.grows, false);
    // Real growth, but under the floor given for the column.
    assert.equal(leastSquares('handles', [0, 1, 2], [5, 5.2, 5.4], 1).grows, false);
    assert.equal(leastSquares('one', [0], [1]).stdError, Infinity);
  });

  it('reads back its CSV and leaves the warm-up out of the slopes', () => {
    const rows = [0, 0.1, 0.5, 1, 1.5, 2].map((h, i) => ({ time: `t${i}`, elapsed_h: h, rss_mb: i === 0 ? 100 : 400 + h, threads: 14 }));
    const table = parseCsv(toCsv(['time', 'elapsed_h', 'rss_mb', 'threads'], rows));
    assert.deepEqual(table.rows[2], { time: 't2', elapsed_h: 0.5, rss_mb: 400.5, threads: 14 });
    const fit = slopes(table, 0.2);
    assert.deepEqual(fit.map((s) => s.column), ['rss_mb', 'threads']);
    assert.equal(fit[0].samples, 4);
    assert.ok(Math.abs(fit[0].perHour - 1) < 1e-9);
    assert.equal(fit[1].perHour, 0);
    const svg = renderSvg(table, fit, { title: 'a <test>', fromHours: 0.2 });
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, /a &lt;test&gt;/);
    assert.match(svg, /rss_mb: \+1\.000\/h/);
    assert.equal((svg.match(/<circle /g) ?? []).length, 12);
  });

  it('puts the docs section before "Not done", then replaces it in place', () => {
    const doc = '# R\n\n## Load and soak\n\ntext\n\n## Not done\n\n- x\n';
    const once = withSection(doc, '<!-- soak-long:start -->\nA\n<!-- soak-long:end -->');
    assert.match(once, /text\n\n<!-- soak-long:start -->\nA\n<!-- soak-long:end -->\n\n## Not done/);
    const twice = withSection(once, '<!-- soak-long:start -->\nB\n<!-- soak-long:end -->');
    assert.equal(twice, once.replace('\nA\n', '\nB\n'));
  });

  it('splits resident memory by kind of mapping: the brk heap, anonymous memory, files', () => {
    const smaps = [
      '55d0c0a00000-55d0c0c00000 rw-p 00000000 00:00 0                          [heap]',
      'Size:               2048 kB',
      'Rss:                1024 kB',
      '7f1e2c000000-7f1e30000000 rw-p 00000000 00:00 0 ',
      'Rss:               65536 kB',
      'Pss:               65536 kB',
      '7f1e40000000-7f1e40200000 r-xp 00000000 08:01 1234                       /usr/lib/x86_64-linux-gnu/libc.so.6',
      'Rss:                2048 kB',
      '7ffd1c000000-7ffd1c021000 rw-p 00000000 00:00 0                          [stack]',
      'Rss:                 132 kB',
    ].join('\n');
    assert.deepEqual(parseSmaps(smaps), { brkMb: 1, anonMb: (65536 + 132) / 1024, fileMb: 2 });
    const own = rssBreakdown();
    if (own) {
      // This process's own map: the parts add up to its RSS (within what moved between the two reads).
      const total = own.brkMb + own.anonMb + own.fileMb;
      const rss = process.memoryUsage().rss / 2 ** 20;
      assert.ok(Math.abs(total - rss) < rss * 0.1, `${total.toFixed(1)} MB in smaps vs rss ${rss.toFixed(1)} MB`);
    }
    assert.equal(rssBreakdown('/nonexistent/smaps'), undefined);
  });

  it('parses the soak options, refusing nonsense', () => {
    const options = parseLongSoakArgs(['--hours', '2', '--sample-minutes', '10', '--out', '/tmp/x']);
    assert.equal(options.hours, 2);
    assert.equal(options.pressMinutes, 3);
    assert.equal(options.fps, 10);
    assert.equal(options.warmupMinutes, 10);
    assert.equal(options.out, '/tmp/x');
    assert.throws(() => parseLongSoakArgs(['--hours', 'lots']), /--hours needs a number/);
  });
});
