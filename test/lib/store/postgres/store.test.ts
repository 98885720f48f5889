import assert from 'node:assert/strict';
import net from 'node:net';
import { isPorchlightError } from '../../../../lib/errors';
import { attachMatcher, type AttachedMatcher } from '../../../../lib/match';
import { MIGRATIONS, openPostgresStore, type Migration, type PostgresStore, type StoreChange, type StoreHealth } from '../../../../lib/store';
import { openPgPool, type PostgresConfig } from '../../../../lib/store/postgres/connection';
import { runPgMigrations } from '../../../../lib/store/postgres/migrations';
import { acquireSharedStore } from '../../../../lib/match/shared-store';
import { createTestDatabase, emptyDatabase, requirePostgres, type TestDatabase } from '../../../support/postgres';
import { describeStoreContract, randomFace } from '../../../support/store-contract';
import { TcpProxy } from '../../../support/tcp-proxy';
import { waitUntil } from '../../../support/wait';

const contractDbs: TestDatabase[] = [];
describeStoreContract(
  'PostgreSQL',
  async () => {
    const [db, other] = contractDbs;
    await Promise.all([emptyDatabase(db.config), emptyDatabase(other.config)]);
    return {
      store: await openPostgresStore(db.config),
      open: () => openPostgresStore(db.config),
      openOther: () => openPostgresStore(other.config),
      dispose: async () => undefined,
    };
  },
  () => {
    requirePostgres();
    before(async () => {
      contractDbs.push(await createTestDatabase('contract'), await createTestDatabase('contract-other'));
    });
    after(async () => {
      await Promise.all(contractDbs.map((d) => d.drop()));
    });
  },
);

/** Waits until `check` holds (checked every 5 ms); resolves with the milliseconds it took, rejects after `timeoutMs`. */
async function within(timeoutMs: number, check: () => boolean | Promise<boolean>, what: string): Promise<number> {
  const started = performance.now();
  await waitUntil(check, { timeout: timeoutMs, interval: 5, message: what });
  return performance.now() - started;
}

describe('PostgreSQL face store: schema, sync between instances, outages', () => {
  requirePostgres();
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase('pgstore');
  });

  beforeEach(async () => {
    await emptyDatabase(db.config);
  });

  after(async () => {
    await db?.drop();
  });

  it('creates the schema with every migration recorded in schema_version', async () => {
    const store = await openPostgresStore(db.config);
    try {
      const versions = (await store.pool.query<{ version: number }>('SELECT version FROM schema_version ORDER BY version')).rows.map((r) => r.version);
      assert.deepEqual(versions, MIGRATIONS.map((m) => m.version));
      const tables = (await store.pool.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).rows.map((r) => r.table_name);
      for (const name of ['people', 'faces', 'face_list', 'events']) assert.ok(tables.includes(name), `${name} exists`);
      assert.match(store.location, /^postgres:\/\/porchlight_test@127\.0\.0\.1:\d+\/porchlight_pgstore_/);
      assert.ok(!store.location.includes(':porchlight_test@'), 'no password in the location');
    } finally {
      await store.close();
    }
  });

  it('runs only pending migrations, each in its own transaction, refuses a newer DB, and lets two instances start at once', async () => {
    const blank = await createTestDatabase('migrate');
    const pool = openPgPool(blank.config);
    const rival = openPgPool(blank.config);
    try {
      let runs = 0;
      const step = (version: number, sql: string): Migration => ({
        version,
        name: `step${version}`,
        up: () => undefined,
        postgres: async (client) => {
          runs++;
          await client.query(sql);
          await new Promise((resolve) => setTimeout(resolve, 50)); // widen the window for a race
        },
      });
      const steps = [step(1, 'CREATE TABLE a (x integer)'), step(2, 'CREATE TABLE b (x integer)')];
      // Two instances at once: the advisory lock makes the second find the work done.
      const [first, second] = await Promise.all([runPgMigrations(pool, steps), runPgMigrations(rival, steps)]);
      assert.deepEqual([...first, ...second].sort(), [1, 2]);
      assert.equal(runs, 2);
      const failing: Migration = { version: 3, name: 'broken', up: () => undefined, postgres: 'CREATE TABLE c (x integer); SELECT no_such_function()' };
      await assert.rejects(runPgMigrations(pool, [...steps, failing]), /no_such_function/);
      const c = await pool.query("SELECT to_regclass('c') AS c");
      assert.equal(c.rows[0].c, null, 'the failed step left no table');
      assert.deepEqual((await pool.query('SELECT max(version) AS v FROM schema_version')).rows[0].v, 2);
      await assert.rejects(runPgMigrations(pool, steps.slice(0, 1)), /newer than this Porchlight/);
    } finally {
      await pool.end();
      await rival.end();
      await blank.drop();
    }
  });

  it('two stores opening a new database at the same moment both come up on one schema', async () => {
    const blank = await createTestDatabase('race');
    const stores = await Promise.all([openPostgresStore(blank.config), openPostgresStore(blank.config), openPostgresStore(blank.config)]);
    try {
      await stores[0].enroll('Ann', [randomFace()]);
      for (const store of stores) assert.deepEqual((await store.listPeople()).map((p) => p.name), ['Ann']);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await blank.drop();
    }
  });

  describe('two instances', () => {
    let here: PostgresStore;
    let there: PostgresStore;
    let thereMatcher: AttachedMatcher;
    let thereChanges: StoreChange[];

    beforeEach(async () => {
      here = await openPostgresStore({ ...db.config, applicationName: 'porchlight-here' });
      there = await openPostgresStore({ ...db.config, applicationName: 'porchlight-there' });
      thereChanges = [];
      there.onChange((c) => thereChanges.push(c));
      thereMatcher = attachMatcher(there);
      await thereMatcher.ready;
    });

    afterEach(async () => {
      thereMatcher.detach();
      await here.close();
      await there.close();
    });

    it('an enrollment, rename, blacklisting, face removal and forget on one reach the other\'s matcher within a second', async () => {
      const matcher = thereMatcher.matcher;
      const face = randomFace();
      const { person, faceIds } = await here.enroll('Alice', [face, randomFace()]);
      const timings: Record<string, number> = {};
      timings.enroll = await within(1000, () => matcher.size() === 2, 'enrollment seen there');
      assert.equal(matcher.nearest(face.embedding, face.model)[0].name, 'Alice');

      await here.updatePerson(person.id, { name: 'Alicia' });
      timings.rename = await within(1000, () => matcher.nearest(face.embedding, face.model)[0]?.name === 'Alicia', 'rename seen there');

      await here.updatePerson('Alicia', { list: 'blacklist' });
      timings.blacklist = await within(1000, () => matcher.nearest(face.embedding, face.model)[0]?.list === 'blacklist', 'blacklisting seen there');

      await here.removeFace(faceIds[1]);
      timings.removeFace = await within(1000, () => matcher.size() === 1, 'face removal seen there');

      await here.setTolerances([{ model: face.model, personId: null, tolerance: 0.42 }], { actor: 'test' });
      timings.tolerance = await within(1000, () => matcher.nearest(face.embedding, face.model)[0]?.tolerance === 0.42, 'tolerance seen there');

      await here.forget('Alicia');
      timings.forget = await within(1000, () => matcher.size() === 0 && matcher.nearest(face.embedding, face.model).length === 0, 'forget seen there');

      assert.deepEqual(thereChanges.map((c) => c.type), ['faces-added', 'person-updated', 'person-updated', 'faces-removed', 'tolerances-changed', 'person-removed']);
      const added = thereChanges[0] as Extract<StoreChange, { type: 'faces-added' }>;
      assert.deepEqual(added.faces.map((f) => f.faceId), faceIds);
      assert.deepEqual(added.faces[0].embedding, face.embedding, 'the listener read the embedding itself');
      console.log(`      sync latencies (ms): ${Object.entries(timings).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
    });

    it('two doors enrolling the same new name at the same moment make one person with both faces', async () => {
      const results = await Promise.all([here.enroll('Gus', [randomFace()]), there.enroll('Gus', [randomFace()])]);
      assert.deepEqual(results.map((r) => r.created).sort(), [false, true]);
      assert.equal(results[0].person.id, results[1].person.id);
      assert.deepEqual((await here.listPeople()).map((p) => [p.name, p.faceCount]), [['Gus', 2]]);
      await within(1000, () => thereMatcher.matcher.size() === 2, 'both faces in the other matcher');
    });

    it('does not echo its own writes back to its listeners', async () => {
      const hereChanges: StoreChange[] = [];
      here.onChange((c) => hereChanges.push(c));
      await here.enroll('Bob', [randomFace()]);
      await within(1000, () => thereChanges.length === 1, 'seen there');
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(hereChanges.map((c) => c.type), ['faces-added']);
    });

    it('a dropped LISTEN connection is reopened, the matcher reloads what it may have missed, and says so in the health', async () => {
      const health: StoreHealth[] = [];
      there.onHealth((h) => health.push(h));
      await here.enroll('Carl', [randomFace()]);
      await within(1000, () => thereMatcher.matcher.size() === 1, 'first enrollment seen');
      // Kill the other instance's listening connection, then write while it is down.
      const killed = await here.pool.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'porchlight-there' AND datname = current_database() AND query LIKE 'LISTEN%'",
      );
      assert.equal(killed.rowCount, 1);
      await here.enroll('Dora', [randomFace()]);
      await within(5000, () => thereChanges.some((c) => c.type === 'reset'), 'reset after reconnect');
      await thereMatcher.ready;
      await within(1000, () => thereMatcher.matcher.size() === 2, 'the missed enrollment is loaded');
      assert.equal(health[0].reachable, false);
      assert.equal(health.at(-1)!.reachable, true);
      // And it follows live changes again.
      await here.enroll('Emil', [randomFace()]);
      await within(1000, () => thereMatcher.matcher.size() === 3, 'live again');
    });
  });

  describe('through a network that fails (a cuttable loopback proxy)', () => {
    let proxy: TcpProxy;
    let direct: PostgresStore;

    beforeEach(async () => {
      proxy = await new TcpProxy(db.config.host, db.config.port!).listen();
      direct = await openPostgresStore(db.config);
    });

    afterEach(async () => {
      await direct.close();
      await proxy.close();
    });

    it('a door cut off keeps matching from memory, refuses writes as DB_UNREACHABLE, and catches up with what changed meanwhile', async () => {
      const door = await openPostgresStore({ ...db.config, port: proxy.port });
      const attached = attachMatcher(door);
      try {
        const ann = randomFace();
        await direct.enroll('Ann', [ann]);
        await within(1000, () => attached.matcher.size() === 1, 'enrollment seen through the proxy');
        const health: StoreHealth[] = [];
        door.onHealth((h) => health.push(h));

        proxy.cut();
        await within(3000, () => health.some((h) => !h.reachable), 'the door notices');
        assert.equal(attached.matcher.nearest(ann.embedding, ann.model)[0].name, 'Ann', 'still matching from memory');
        await assert.rejects(door.enroll('Ben', [randomFace()]), (err) => isPorchlightError(err, 'DB_UNREACHABLE'));
        // Meanwhile another door forgets Ann and enrolls Cid.
        await direct.forget('Ann');
        const cid = randomFace();
        await direct.enroll('Cid', [cid]);

        proxy.restore();
        await within(15_000, () => health.at(-1)?.reachable === true, 'the door reconnects');
        await within(5000, () => attached.matcher.nearest(cid.embedding, cid.model)[0]?.name === 'Cid' && attached.matcher.size() === 1, 'the door reloads what it missed');
        await door.enroll('Ben', [randomFace()]);
        await within(1000, async () => (await direct.getPerson('Ben')) !== undefined, 'writes work again');
      } finally {
        attached.detach();
        await door.close();
      }
    });

    it('a door that starts before its database opens unreachable and loads the gallery once the database is there', async () => {
      await direct.enroll('Dee', [randomFace()]);
      proxy.cut();
      const door = await openPostgresStore({ ...db.config, port: proxy.port }, { startUnreachable: true });
      const attached = attachMatcher(door);
      try {
        assert.equal(door.health.reachable, false);
        await assert.rejects(door.listPeople(), (err) => isPorchlightError(err, 'DB_UNREACHABLE'));
        await assert.rejects(attached.ready, (err) => isPorchlightError(err, 'DB_UNREACHABLE'));
        proxy.restore();
        await within(20_000, () => attached.matcher.size() === 1, 'gallery loaded after the database came');
        assert.equal(door.health.reachable, true);
        assert.deepEqual((await door.listPeople()).map((p) => p.name), ['Dee']);
      } finally {
        attached.detach();
        await door.close();
      }
    });
  });

  it('an unreachable server is a DB_UNREACHABLE error naming it, without the password', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const config: PostgresConfig = { ...db.config, port: closedPort, password: 'sekrit-pw' };
    await assert.rejects(openPostgresStore(config), (err) => {
      assert.ok(isPorchlightError(err, 'DB_UNREACHABLE'), String(err));
      assert.match(err.message, new RegExp(`database unreachable: postgres://porchlight_test@127\\.0\\.0\\.1:${closedPort}/`));
      assert.ok(!err.message.includes('sekrit-pw'));
      return true;
    });
  });

  it('acquireSharedStore keeps one store per database, whichever backend', async () => {
    const [a, b] = await Promise.all([acquireSharedStore({ backend: 'postgres', postgres: db.config }), acquireSharedStore({ backend: 'postgres', postgres: { ...db.config } })]);
    try {
      assert.equal(a.store, b.store);
      assert.equal(a.store.backend, 'postgres');
      await a.matcherReady;
      await a.store.enroll('Fay', [randomFace()]);
      assert.equal(b.matcher.size(), 1);
    } finally {
      await a.release();
      await b.release();
    }
  });
});
