/**
 * A real Node-RED runtime in a child process, without adminAuth, with the
 * named Porchlight nodes loaded from dist/ and `flows.json` from its user dir:
 * for tests that kill it (SIGKILL), fill its disk, or break its install.
 * The child prints its port once the runtime has started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { nodeFile } from './paths';

interface ChildOptions {
  userDir: string;
  /** Node folders to load (each holds a node's .js file), e.g. from nodeFile(). */
  nodesDirs: string[];
}

async function runChild({ userDir, nodesDirs }: ChildOptions): Promise<void> {
  const express = require('express');
  const RED = require('node-red');
  const app = express();
  const server = http.createServer(app);
  RED.init(server, {
    userDir,
    flowFile: 'flows.json',
    httpAdminRoot: '/',
    httpNodeRoot: '/api',
    credentialSecret: false,
    nodesDir: nodesDirs,
    logging: { console: { level: 'warn', metrics: false, audit: false } },
    editorTheme: { projects: { enabled: false }, tours: false },
  });
  app.use('/', RED.httpAdmin);
  app.use('/api', RED.httpNode);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await RED.start();
  fs.writeSync(1, `listening ${(server.address() as AddressInfo).port}\n`);
}

if (require.main === module) {
  runChild(JSON.parse(process.argv[2]) as ChildOptions).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

export interface NodeRedProcess {
  /** `http://127.0.0.1:<port>/`, the admin root. */
  base: string;
  child: ChildProcess;
  /** What the child wrote on stderr so far. */
  stderr(): string;
  /** Resolves once `url` answers 200 (the flow starts after the runtime). */
  waitFor(url: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM (a clean stop) unless given another signal; resolves when the child has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartOptions {
  /** Node names (the package's node folders under dist/nodes). */
  nodes?: string[];
  /** Node folders, for tests that load the nodes from another copy of dist/. */
  nodesDirs?: string[];
  /** The module that runs the child (this file, compiled, unless a copy elsewhere should run). */
  entry?: string;
  env?: NodeJS.ProcessEnv;
}

/** Starts Node-RED on `userDir` (which must hold flows.json) in a child process. */
export async function startNodeRedProcess(userDir: string, options: StartOptions): Promise<NodeRedProcess> {
  const nodesDirs = options.nodesDirs ?? (options.nodes ?? []).map((name) => path.dirname(nodeFile(name)));
  const child = spawn(process.execPath, [options.entry ?? __filename, JSON.stringify({ userDir, nodesDirs })], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk) => {
      text += chunk;
      const listening = /listening (\d+)\n/.exec(text);
      if (listening) resolve(Number(listening[1]));
    });
    child.once('exit', (code, signal) => reject(new Error(`Node-RED exited (${code ?? signal}) before listening: ${stderr}`)));
  });
  const base = `http://127.0.0.1:${port}/`;
  return {
    base,
    child,
    stderr: () => stderr,
    async waitFor(url, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const status = await fetch(`${base}${url}`).then((res) => res.status, () => 0);
        if (status === 200) return;
        if (Date.now() > until) throw new Error(`${url} did not answer 200 (last ${status}): ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
  };
}
