/**
 * No Docker engine runs here, so the Dockerfile and compose file are checked
 * for what can go wrong without one: every file a stage copies exists in the
 * checkout (and is not excluded by .dockerignore), stages refer to stages that
 * exist, the build stage has everything the package needs, and the runtime
 * has its health check and limits.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../support/paths';

interface Instruction {
  op: string;
  args: string;
}

interface Stage {
  name?: string;
  from: string;
  instructions: Instruction[];
}

/** The Dockerfile's instructions by stage, with continuation lines joined and comments dropped. */
function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (!op) continue;
    if (op.toUpperCase() === 'FROM') {
      const [, from, name] = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args) ?? [];
      stages.push({ from, name, instructions: [] });
    } else if (stages.length) {
      stages[stages.length - 1].instructions.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

/** Sources of a COPY (its last word is the destination), and its flags. */
function copySources(args: string): { from?: string; sources: string[] } {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const rest = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { from, sources: rest.slice(0, -1) };
}

const dockerignore = fs.readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

describe('Dockerfile and docker-compose.yml (checked without a Docker engine)', () => {
  const stages = parseDockerfile(fs.readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8'));
  const build = stages.find((s) => s.name === 'build');

  it('is multi-stage: a build stage from the checkout, then the Node-RED image', () => {
    assert.ok(build, 'a stage named build');
    assert.match(stages[stages.length - 1].from, /^nodered\/node-red:/);
    assert.ok(build!.instructions.some((i) => i.op === 'RUN' && /npm pack/.test(i.args)), 'the build stage packs the package');
    const install = stages[stages.length - 1].instructions.find((i) => i.op === 'RUN' && /npm install/.test(i.args));
    assert.ok(install && /--omit=dev/.test(install.args) && /porchlight-node-red-doorbell-\*\.tgz/.test(install.args), 'the image installs the packed tarball as the palette does');
    assert.ok(!stages.some((s) => s.instructions.some((i) => /@porchlight\/node-red-doorbell(?!-)/.test(i.args))), 'nothing asks the registry for the package');
  });

  it('every file a stage copies from the checkout exists and is not excluded by .dockerignore', () => {
    const names = new Set(stages.map((s) => s.name).filter(Boolean));
    for (const [index, stage] of stages.entries()) {
      for (const copy of stage.instructions.filter((i) => i.op === 'COPY' || i.op === 'ADD')) {
        const { from, sources } = copySources(copy.args);
        if (from) {
          assert.ok(names.has(from) && stages.findIndex((s) => s.name === from) < index, `COPY --from=${from} names an earlier stage`);
          continue;
        }
        for (const source of sources) {
          assert.ok(fs.existsSync(path.join(repoRoot, source)), `COPY ${source}: no such file in the checkout`);
          assert.ok(!dockerignore.includes(source.replace(/\/$/, '')), `COPY ${source} is excluded by .dockerignore`);
        }
      }
    }
  });

  it('the build stage copies everything the package ships and the build reads', () => {
    const copied = new Set(build!.instructions.filter((i) => i.op === 'COPY').flatMap((i) => copySources(i.args).sources.map((s) => s.replace(/\/$/, ''))));
    const files = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { files: string[] }).files;
    const shipped = files.filter((f) => !f.startsWith('!') && !f.startsWith('dist/')).map((f) => f.split('/')[0]);
    // The compiler's inputs for the shipped code, and what the build's scripts read (copy-assets: icons; build-examples: flows).
    const buildInputs = ['package.json', 'package-lock.json', 'tsconfig.json', 'lib', 'nodes', 'cli', 'scripts', 'flows', 'icons'];
    for (const needed of [...new Set([...shipped, ...buildInputs])].filter((f) => fs.existsSync(path.join(repoRoot, f)))) {
      assert.ok(copied.has(needed), `the build stage does not copy ${needed}`);
    }
  });

  it('the image checks /porchlight/health, and compose limits memory and CPU', () => {
    const final = stages[stages.length - 1];
    const health = final.instructions.find((i) => i.op === 'HEALTHCHECK');
    assert.ok(health && /\/porchlight\/health/.test(health.args), 'HEALTHCHECK on /porchlight/health');
    const compose = fs.readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8');
    assert.match(compose, /build: \./);
    const limits = /limits:\n((?:\s{10}\S.*\n)+)/.exec(compose);
    assert.ok(limits, 'deploy.resources.limits');
    assert.match(limits[1], /cpus:/);
    assert.match(limits[1], /memory:/);
  });
});
