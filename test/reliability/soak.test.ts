import assert from 'node:assert/strict';
import { checkFlood, checkRedeploys, checkStream, frameStream, pressFlood, redeploys } from '../../bench/soak';

/**
 * Short versions of `npm run soak` (bench/soak.ts), with the same checks:
 * 10 presses/s for 5 s with 5-frame bursts, 300 frames through detect and
 * recognize, 10 full redeploys.
 */
describe('reliability: load and soak (short versions of npm run soak)', function () {
  this.timeout(300_000);

  it('10 presses/s for 5 s after 3 s of warm-up, 5-frame bursts through the Node-RED pipeline: every press an event, every event final, drops counted, RSS bounded', async () => {
    const report = await pressFlood({ pressesPerSecond: 10, seconds: 5, burstFrames: 5 });
    // 5 s is short of the working set (the full soak holds 10 %): a looser bound on RSS growth here.
    assert.deepEqual(checkFlood(report, 0.3), [], JSON.stringify(report));
    assert.equal(report.presses, 80, '3 s of warm-up and 5 s measured');
    assert.ok((report.byStatus.completed ?? 0) > 0, `some events decided: ${JSON.stringify(report.byStatus)}`);
  });

  it('300 frames through detect and recognize: RSS growth under 5 % after warm-up, every face embedded', async () => {
    const report = await frameStream({ frames: 300, warmupFrames: 150 }); // a short run: half of it to warm up
    assert.deepEqual(checkStream(report), [], JSON.stringify(report));
    assert.ok(report.framesPerSecond > 0);
  });

  it('10 full redeploys, an event decided after each: no OS thread or handle left behind', async () => {
    const report = await redeploys({ redeploys: 10 });
    assert.deepEqual(checkRedeploys(report), [], JSON.stringify(report));
  });
});
