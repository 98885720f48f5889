/**
 * `npm start`: a local Node-RED (the dev dependency) on 127.0.0.1:1880 with
 * this package loaded from the working tree and the demo flow deployed (the
 * doorbell pipeline, the dashboard, a simulated button and camera).
 * The user dir is `.node-red-dev/` in the repo (git-ignored); `PORT` and
 * `PORCHLIGHT_USER_DIR` override; `PORT=0` picks a free port (the log line says which).
 * A `settings.js` in the user dir is merged over the demo's own settings
 * (`demo-settings.ts`), so adminAuth, httpNodeAuth, https and the rest can be
 * tried with the demo as in any Node-RED.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import crypto from 'node:crypto';
import https from 'node:https';
import express from 'express';
import type { AddressInfo } from 'node:net';
import { relaunchWithArenaLimit } from '../lib/process';
import { composeFlow, DEMO_FRAGMENTS, formatFlow } from './build-examples';
import { enrolDemoCast } from './demo-enrol';
import { prepareDemoMedia } from './demo-media';
import { demoSettings, demoSettingsNote, mountHttpNode, mountHttpStatic } from './demo-settings';

const root = path.resolve(__dirname, '..', '..');
const userDir = process.env.PORCHLIGHT_USER_DIR ?? path.join(root, '.node-red-dev');

/** Links the working tree into the user dir, as `npm install <path>` would. */
function linkPackage(): void {
  const scopeDir = path.join(userDir, 'node_modules', '@porchlight');
  const link = path.join(scopeDir, 'node-red-doorbell');
  fs.mkdirSync(scopeDir, { recursive: true });
  try {
    if (fs.readlinkSync(link) === root) return;
    fs.unlinkSync(link);
  } catch {
    fs.rmSync(link, { recursive: true, force: true });
  }
  fs.symlinkSync(root, link, 'dir');
}

/** Deploys the demo flow on first start and whenever the project's flows change (edits made in the editor are kept until then). */
function installFlow(): string {
  const flowFile = path.join(userDir, 'flows.json');
  const stamp = path.join(userDir, '.porchlight-flow-hash');
  const source = formatFlow(composeFlow(DEMO_FRAGMENTS));
  const hash = crypto.createHash('sha256').update(source).digest('hex');
  const previous = fs.existsSync(stamp) ? fs.readFileSync(stamp, 'utf8') : '';
  if (!fs.existsSync(flowFile) || previous !== hash) {
    fs.writeFileSync(flowFile, source);
    fs.writeFileSync(stamp, hash);
  }
  return flowFile;
}

async function main(): Promise<void> {
  fs.mkdirSync(userDir, { recursive: true });
  linkPackage();
  const flowFile = installFlow();
  // The simulated camera's pictures, cut once per user dir; the demo flow reads them from here.
  const media = await prepareDemoMedia(path.join(userDir, 'porchlight-demo'));
  process.env.PORCHLIGHT_DEMO_DIR = media.dir;

  const RED = require('node-red');
  const { settings, demoAuth, port, host, fromFile } = demoSettings(userDir, flowFile);
  const app = express();
  for (const [key, value] of Object.entries((settings.httpServerOptions as Record<string, unknown> | undefined) ?? {})) app.set(key, value);
  const tls = typeof settings.https === 'function' ? await (settings.https as () => unknown)() : settings.https;
  const server = tls ? https.createServer(tls as https.ServerOptions, app) : http.createServer(app);
  RED.init(server, settings);
  // What node-red's own launcher (red.js) adds around the runtime: the admin app, httpNodeAuth in front of the node app, httpStatic.
  if (settings.httpAdminRoot !== false) app.use(settings.httpAdminRoot as string, RED.httpAdmin);
  mountHttpNode(app, settings, RED.httpNode);
  mountHttpStatic(app, settings);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  await RED.start();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`Porchlight: ${signal}, stopping Node-RED...`);
    const force = setTimeout(() => process.exit(1), 20_000);
    force.unref();
    await RED.stop();
    server.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const { port: boundPort } = server.address() as AddressInfo;
  const origin = `${tls ? 'https' : 'http'}://${host}:${boundPort}`;
  const baseUrl = `${origin}${settings.httpAdminRoot === false ? '/' : settings.httpAdminRoot}`;
  try {
    const enrolled = await enrolDemoCast(baseUrl, media, demoAuth.headers());
    demoAuth.revoke();
    if (enrolled.length > 0) console.log(`Porchlight: demo: enrolled ${enrolled.join(', ')} (first start)`);
  } catch (err) {
    console.warn(`Porchlight: demo: could not enrol the demo's people: ${(err as Error).message}`);
  }
  const dashboard = `${origin}${settings.httpNodeRoot === false ? '/' : settings.httpNodeRoot}dashboard/`;
  console.log(`Porchlight: Node-RED is running at ${baseUrl} (user dir ${userDir}${demoSettingsNote(fromFile)}); dashboard at ${dashboard}`);
}

// Two malloc arenas keep resident memory ~80 MB lower (lib/process/malloc-arenas.ts): set before Node-RED starts, by starting again with it.
if (!relaunchWithArenaLimit()) {
  main().catch((err) => {
    console.error(`Porchlight: could not start Node-RED: ${err instanceof Error ? err.stack : err}`);
    process.exit(1);
  });
}
