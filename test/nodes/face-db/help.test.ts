import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ACTIONS } from '../../../nodes/face-db/actions';
import { repoRoot } from '../../support/paths';

/**
 * face-db's help (nodes/face-db/locales/en-US/face-db.html) and its dialog keep up with its actions:
 * every `msg.action` is listed among the inputs, has its result under Outputs and is an option of the
 * dialog's Action, and every message property an action reads is described.
 */
describe('face-db: the help and the dialog name every action and message property', () => {
  const folder = path.join(repoRoot, 'nodes', 'face-db');
  const help = fs.readFileSync(path.join(folder, 'locales', 'en-US', 'face-db.html'), 'utf8');
  const dialog = fs.readFileSync(path.join(folder, 'face-db.html'), 'utf8');
  const section = (title: string) => {
    const match = new RegExp(`<h3>${title}</h3>([\\s\\S]*?)(?:<h3>|</script>)`).exec(help);
    assert.ok(match, `the help's ${title}`);
    return match[1];
  };
  const actions = Object.keys(ACTIONS);

  it('finds the actions', () => {
    assert.ok(actions.length >= 25 && actions.includes('facesInPhoto'), actions.join(', '));
  });

  it("every action is in the Inputs' list of msg.action, in Outputs, and in the dialog's Action select", () => {
    const inputs = section('Inputs');
    const actionList = /<dt>action\b[\s\S]*?<dd>([\s\S]*?)<\/dd>/.exec(inputs)?.[1] ?? '';
    const outputs = section('Outputs');
    const options = [...dialog.matchAll(/<option value="(\w+)">/g)].map((m) => m[1]);
    const problems = actions.flatMap((action) => [
      ...(actionList.includes(`<code>${action}</code>`) ? [] : [`${action}: not in msg.action's list`]),
      ...(outputs.includes(`<code>${action}</code>`) ? [] : [`${action}: no result under Outputs`]),
      ...(options.includes(action) ? [] : [`${action}: not an option of the dialog's Action`]),
    ]);
    assert.deepEqual(problems, []);
    assert.deepEqual(options.filter((option) => !actions.includes(option)), [], 'options that are no action');
  });

  it("the README's node table names every action in face-db's row", () => {
    const row = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8').split('\n').find((line) => line.startsWith('| `face-db` |')) ?? '';
    assert.ok(row, "the README's face-db row");
    assert.deepEqual(actions.filter((action) => !new RegExp(`\\b${action}\\b`).test(row)), []);
  });

  it('every msg property an action reads is described under Inputs', () => {
    const sources = ['actions.ts', 'visitor-actions.ts'].map((file) => fs.readFileSync(path.join(folder, file), 'utf8')).join('\n');
    const read = new Set([...sources.matchAll(/\bmsg\.(\w+)/g)].map((m) => m[1]));
    const inputs = section('Inputs');
    const described = (name: string) => new RegExp(`<dt[^>]*>[^<]*\\b${name}\\b`).test(inputs) || inputs.includes(`<code>msg.${name}</code>`);
    assert.ok(read.has('strangers') && read.has('box'), [...read].join(', '));
    assert.deepEqual([...read].filter((name) => !described(name)), []);
  });
});
