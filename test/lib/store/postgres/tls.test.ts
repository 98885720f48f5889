import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { openPostgresStore } from '../../../../lib/store';
import { createTestDatabase, requirePostgres, type TestDatabase } from '../../../support/postgres';
import { tempDir } from '../../../support/temp';

/** PostgreSQL's SSLRequest: length 8, code 80877103. */
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

/**
 * A TLS terminator in front of the real server, speaking PostgreSQL's
 * SSLRequest handshake: it answers 'S', does TLS with its own certificate,
 * then passes the decrypted stream to the server (which has TLS off). Counts
 * the connections that really went through TLS.
 */
class TlsTerminator {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  tlsConnections = 0;
  port = 0;

  constructor(target: { host: string; port: number }, credentials: { key: Buffer; cert: Buffer }) {
    this.server = net.createServer((client) => {
      this.sockets.add(client);
      client.on('close', () => this.sockets.delete(client));
      client.on('error', () => undefined);
      client.once('data', (first) => {
        if (!first.equals(SSL_REQUEST)) {
          client.destroy(); // this server requires TLS
          return;
        }
        client.write('S');
        const secure = new tls.TLSSocket(client, { isServer: true, key: credentials.key, cert: credentials.cert });
        secure.on('error', () => client.destroy());
        secure.once('secure', () => {
          this.tlsConnections++;
          const upstream = net.connect(target.port, target.host);
          this.sockets.add(upstream);
          upstream.on('close', () => {
            this.sockets.delete(upstream);
            client.destroy();
          });
          upstream.on('error', () => undefined);
          secure.pipe(upstream).pipe(secure);
          secure.on('close', () => upstream.destroy());
        });
      });
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('PostgreSQL over TLS: the config node\'s off / require / verify', function () {
  this.timeout(60_000);
  requirePostgres();
  let db: TestDatabase;
  let dir: string;
  let terminator: TlsTerminator;
  let caPem: string;

  before(async () => {
    db = await createTestDatabase('tls');
    dir = tempDir('porchlight-tls-');
    // A self-signed certificate for 127.0.0.1, made for this run (the test's own CA).
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '1', '-subj', '/CN=porchlight-test', '-addext', 'subjectAltName=IP:127.0.0.1'], { cwd: dir, stdio: 'ignore' });
    caPem = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
    terminator = await new TlsTerminator({ host: db.config.host, port: db.config.port! }, { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: Buffer.from(caPem) }).listen();
  });

  after(async () => {
    await terminator?.close();
    await db?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const through = (extra: object) => ({ ...db.config, host: '127.0.0.1', port: terminator.port, ...extra });

  it('require: encrypted without checking the server', async () => {
    const before = terminator.tlsConnections;
    const store = await openPostgresStore(through({ ssl: 'require' }));
    try {
      await store.enroll('Tess', [{ model: 'm', embedding: [1, 0] }]);
      assert.deepEqual((await store.listPeople()).map((p) => p.name), ['Tess']);
      assert.ok(terminator.tlsConnections > before, 'the connections went through TLS');
    } finally {
      await store.close();
    }
  });

  it('verify: accepted with the CA that signed the server certificate, refused without it', async () => {
    const store = await openPostgresStore(through({ ssl: 'verify', sslCa: caPem }));
    try {
      assert.deepEqual((await store.listPeople()).map((p) => p.name), ['Tess']);
    } finally {
      await store.close();
    }
    await assert.rejects(openPostgresStore(through({ ssl: 'verify' })), /self[- ]signed certificate/);
  });

  it('off: a server that requires TLS refuses the plain connection', async () => {
    await assert.rejects(openPostgresStore(through({ ssl: 'off' })));
  });
});
