import assert from 'node:assert/strict';
import { main } from '../../cli/porchlight';
import type { OpensetReport } from '../../cli/eval-openset';
import { lfwDir } from '../support/paths';

/** Runs the CLI in-process and captures what it prints. */
async function run(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

// No engine options: the CLI's default, the package's bundled YuNet + MobileFaceNet (+ flip), as face-recognize runs it.
const ENGINE: string[] = [];

describe('porchlight eval openset (real LFW, real pipeline)', function () {
  // A cold run embeds about 1,300 photos (a few minutes on one core); they are cached in the temp folder for the next run.
  this.timeout(1_800_000);

  it('at the default setting, 20 people enrolled: known people named right >= 97 %, strangers named as someone <= 1 %', async () => {
    const result = await run('eval', 'openset', '--images', lfwDir, '--sizes', '10,20', '--trials', '2', '--max-strangers', '300', '--json', ...ENGINE);
    assert.equal(result.code, 0, result.err.join('\n'));
    const report = JSON.parse(result.out[0]) as OpensetReport;
    assert.equal(report.oneIn, 1000);
    assert.match(report.model, /^onnx:mobilefacenet_foamliu_alenchen@/);
    const [ten, twenty] = report.galleries;
    assert.equal(twenty.people, 20);
    assert.ok(twenty.knownProbes >= 100 && twenty.strangerProbes >= 800, `${twenty.knownProbes} known, ${twenty.strangerProbes} stranger probes`);
    const at = twenty.atSetting;
    assert.ok(at.knownRight >= 0.97, `known named right ${at.knownRight}`);
    assert.ok(at.strangersAccepted <= 0.01, `strangers named ${at.strangersAccepted}`);
    assert.equal(at.knownWrong, 0);
    // The table predicts about 1 in 1,000 at every size, with a stricter distance for the bigger gallery.
    assert.ok(Math.abs(at.strangersExpected - 0.001) < 0.0002, String(at.strangersExpected));
    assert.ok(ten.atSetting.distance > at.distance, `${ten.atSetting.distance} vs ${at.distance}`);
    // The curve trades one for the other: more strangers at 1 in 10 than at 1 in 100,000, more known people too.
    const loose = twenty.curve[0];
    const strict = twenty.curve[twenty.curve.length - 1];
    assert.ok(loose.strangersAccepted > strict.strangersAccepted && loose.knownRight >= strict.knownRight);
    assert.ok(loose.strangersAccepted > 0.02, `1 in 10: ${loose.strangersAccepted}`);
  });

  it('refuses a gallery bigger than the people it can draw, and a missing folder', async () => {
    const tooBig = await run('eval', 'openset', '--images', lfwDir, '--sizes', '5000', ...ENGINE);
    assert.equal(tooBig.code, 1);
    assert.match(tooBig.err.join('\n'), /a gallery of 5000 people needs/);
    assert.equal((await run('eval', 'openset')).code, 2);
    assert.equal((await run('eval', 'openset', '--images', lfwDir, '--sizes', 'x')).code, 2);
    assert.equal((await run('eval', 'openset', '--images', '/nonexistent', ...ENGINE)).code, 1);
  });
});
