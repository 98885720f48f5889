import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { pgClientConfig, type PostgresConfig } from '../../lib/store/postgres/connection';

const run = promisify(execFile);

/**
 * A private, throwaway PostgreSQL server for one test file, so a test can stop
 * and restart a real server (a real shutdown, not a cut network) without
 * touching the shared test cluster other files use. Debian's binaries, a
 * temporary data directory, trust authentication on 127.0.0.1 and a free port.
 */

/** Debian's server binaries (initdb, pg_ctl), newest version first; undefined when not installed. */
function findPgBinDir(): string | undefined {
  const candidates: string[] = [];
  const root = '/usr/lib/postgresql';
  if (fs.existsSync(root)) {
    const versions = fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => path.join(root, v, 'bin')));
  }
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl')));
}

const PG_SERVER_MISSING_REASON = 'PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql (apt-get install postgresql)';

/**
 * Call inside a `describe`: its tests are pending when the binaries are
 * missing, but under CI=true (where .ci/run installs them) the suite fails.
 */
export function requirePgServerBinaries(): void {
  before(function () {
    if (findPgBinDir()) return;
    if (process.env.CI === 'true') throw new Error(`PostgreSQL server tests cannot run: ${PG_SERVER_MISSING_REASON}`);
    console.log(`      (pending: ${PG_SERVER_MISSING_REASON})`);
    this.skip();
  });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export class PgServer {
  private running = false;

  private constructor(
    private readonly binDir: string,
    /** Temp dir: the data directory, the unix socket and the server log. */
    readonly dir: string,
    readonly port: number,
    /** PostgreSQL refuses to run as root: then every server command runs as the `postgres` OS user. */
    private readonly asUser: string | undefined,
  ) {}

  /** initdb into a new temp dir and start the server; it holds a database `porchlight` owned by the `postgres` role. */
  static async create(): Promise<PgServer> {
    const binDir = findPgBinDir();
    if (!binDir) throw new Error(PG_SERVER_MISSING_REASON);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porchlight-pg-'));
    const asUser = process.getuid?.() === 0 ? 'postgres' : undefined;
    if (asUser) {
      const { stdout } = await run('id', ['-u', asUser]);
      const { stdout: gid } = await run('id', ['-g', asUser]);
      fs.chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
    }
    const server = new PgServer(binDir, dir, await freePort(), asUser);
    try {
      await server.pg('initdb', ['-D', server.dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
      await server.start();
      const admin = new pg.Client(pgClientConfig({ ...server.config, database: 'postgres' }));
      await admin.connect();
      try {
        await admin.query('CREATE DATABASE porchlight');
      } finally {
        await admin.end();
      }
    } catch (err) {
      await server.destroy();
      throw err;
    }
    return server;
  }

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  /** Where to connect: superuser `postgres`, no password (trust on loopback). */
  get config(): PostgresConfig {
    return { host: '127.0.0.1', port: this.port, database: 'porchlight', user: 'postgres' };
  }

  /** Starts the server on its port (the same every time) and waits until it accepts connections. */
  async start(): Promise<void> {
    // fsync off: a throwaway server; a fast stop still writes a clean shutdown checkpoint.
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    await this.pg('pg_ctl', ['-D', this.dataDir, '-l', path.join(this.dir, 'server.log'), '-w', '-t', '30', '-o', options, 'start']);
    this.running = true;
  }

  /** A real shutdown (`pg_ctl stop -m fast`): open sessions are terminated, then the server exits. */
  async stop(): Promise<void> {
    await this.pg('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', '-t', '30', 'stop']);
    this.running = false;
  }

  /** Stops the server if it runs and removes its files. */
  async destroy(): Promise<void> {
    if (this.running || fs.existsSync(path.join(this.dataDir, 'postmaster.pid'))) {
      await this.pg('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop']).catch(() => undefined);
    }
    this.running = false;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** The server's log (for a failed test's message). */
  log(): string {
    const file = path.join(this.dir, 'server.log');
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  }

  private async pg(program: string, args: string[]): Promise<void> {
    const binary = path.join(this.binDir, program);
    const [command, commandArgs] = this.asUser ? ['runuser', ['-u', this.asUser, '--', binary, ...args]] : [binary, args];
    try {
      await run(command, commandArgs, { cwd: this.dir, timeout: 60_000 });
    } catch (err) {
      const { stderr, stdout } = err as { stderr?: string; stdout?: string };
      throw new Error(`${program} ${args.at(-1)} failed: ${(stderr || stdout || String(err)).trim()}`);
    }
  }
}
