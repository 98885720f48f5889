/**
 * The two ONNX Runtimes Porchlight can run on: onnxruntime-node (native, an
 * optional peer dependency) and onnxruntime-web (WebAssembly, the one every
 * install has). The same model must give the same outputs on both, and the
 * WebAssembly one must be what runs when the native one is not there.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { modelsDir, repoRoot } from '../../../support/paths';
import { tempDir } from '../../../support/temp';

const runtimeModule = path.join(repoRoot, 'dist', 'lib', 'vision', 'onnx', 'runtime.js');

/** Runs a model in a fresh process on the runtime `PORCHLIGHT_ONNX_RUNTIME` picks; returns its name and first output. */
function runIn(env: Record<string, string>, model: string, dims: number[]): { name: string; output: number[] } {
  const script = `
    const rt = require(${JSON.stringify(runtimeModule)});
    (async () => {
      const model = await rt.openModelFile(${JSON.stringify(model)});
      const dims = ${JSON.stringify(dims)};
      const input = new Float32Array(dims.reduce((a, b) => a * b)).map((_, i) => Math.sin(i) * 0.5);
      const [out] = await rt.runModel(model, input, dims);
      process.stdout.write(JSON.stringify({ name: rt.ortRuntimeName(), output: Array.from(out.data) }));
      await rt.closeModelFiles();
    })().catch((err) => { console.error(err.message); process.exit(1); });`;
  const stdout = execFileSync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
  return JSON.parse(stdout) as { name: string; output: number[] };
}

describe('ONNX Runtime: native and WebAssembly', function () {
  this.timeout(180_000);
  const recognizer = path.join(modelsDir, 'mobilefacenet_foamliu_alenchen.onnx');

  before(function () {
    if (!fs.existsSync(recognizer)) this.skip();
  });

  it('runs a model to the same outputs on onnxruntime-node and onnxruntime-web', () => {
    const native = runIn({ PORCHLIGHT_ONNX_RUNTIME: 'node' }, recognizer, [1, 3, 112, 112]);
    const wasm = runIn({ PORCHLIGHT_ONNX_RUNTIME: 'web' }, recognizer, [1, 3, 112, 112]);
    assert.equal(native.name, 'onnxruntime-node');
    assert.equal(wasm.name, 'onnxruntime-web');
    assert.equal(wasm.output.length, native.output.length);
    const maxDiff = Math.max(...native.output.map((v, i) => Math.abs(v - wasm.output[i])));
    assert.ok(maxDiff < 1e-3, `largest difference ${maxDiff}`);
  });

  it('falls back to onnxruntime-web when onnxruntime-node cannot be required', () => {
    // A NODE_PATH-free child whose require of onnxruntime-node fails: a preload that hides it.
    const hide = `const Module = require('module'); const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        if (request === 'onnxruntime-node') { const err = new Error("Cannot find module 'onnxruntime-node'"); err.code = 'MODULE_NOT_FOUND'; throw err; }
        return resolve.call(this, request, ...rest);
      };`;
    const preload = path.join(tempDir('porchlight-ort-'), 'hide-native.js');
    fs.writeFileSync(preload, hide);
    try {
      const result = runIn({ NODE_OPTIONS: `--require ${preload}`, PORCHLIGHT_ONNX_RUNTIME: '' }, recognizer, [1, 3, 112, 112]);
      assert.equal(result.name, 'onnxruntime-web');
      assert.equal(result.output.length, 128);
    } finally {
      fs.rmSync(path.dirname(preload), { recursive: true, force: true });
    }
  });
});
