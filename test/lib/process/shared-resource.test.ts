import assert from 'node:assert/strict';
import { isPorchlightError } from '../../../lib/errors';
import { Registrations, SharedResource, differingFields } from '../../../lib/process/shared-resource';

interface Settings {
  size?: number;
  mode?: string;
}

/** A resource that records its life: what was opened with which settings, and what was closed. */
function recorder(options: { openAsync?: boolean; failOpen?: (attempt: number) => boolean } = {}) {
  const log: string[] = [];
  let attempts = 0;
  let serial = 0;
  const shared = new SharedResource<Settings, { id: number; settings: Settings }>({
    what: 'test resource',
    open: (settings, key) => {
      attempts++;
      const fail = options.failOpen?.(attempts) ?? false;
      log.push(`open ${key} ${JSON.stringify(settings)}${fail ? ' (fails)' : ''}`);
      if (options.openAsync || fail) {
        return new Promise((resolve, reject) => setImmediate(() => (fail ? reject(new Error(`cannot open ${key}`)) : resolve({ id: ++serial, settings }))));
      }
      return { id: ++serial, settings };
    },
    close: async (resource, key) => {
      await new Promise((resolve) => setImmediate(resolve));
      log.push(`close ${key} #${resource.id}`);
    },
  });
  return { shared, log };
}

describe('shared resource with a use count (lib/process/shared-resource)', () => {
  it('opens on the first acquire, shares it per key, closes after the last release, and opens anew after that', async () => {
    const { shared, log } = recorder();
    const a = shared.acquire('k', { size: 1 });
    const b = shared.acquire('k', { size: 1 });
    const other = shared.acquire('j', { size: 2 });
    assert.equal(a.resource, b.resource, 'one resource per key');
    assert.notEqual(a.resource, other.resource);
    assert.equal(shared.users('k'), 2);
    assert.equal(shared.peek('k'), a.resource);
    await a.release();
    await a.release(); // twice counts once
    assert.equal(shared.users('k'), 1);
    assert.deepEqual(log, ['open k {"size":1}', 'open j {"size":2}'], 'nothing closed while a user remains');
    await b.release();
    assert.equal(shared.users('k'), 0);
    assert.equal(shared.peek('k'), undefined);
    assert.equal(log.at(-1), 'close k #1', 'closed (awaited) by the last release');
    const again = shared.acquire('k', { size: 3 });
    assert.equal(again.resource.id, 3, 'a new one after the last release');
    assert.equal(again.conflict, undefined, 'the old settings went with it');
    await Promise.all([again.release(), other.release()]);
    assert.deepEqual(log.slice(-2).sort(), ['close j #2', 'close k #3']);
  });

  it('a later user asking for other settings shares the open resource and is told what differs; a setting left undefined is no conflict', async () => {
    const { shared } = recorder();
    const first = shared.acquire('pool', { size: 1, mode: 'fast' });
    const same = shared.acquire('pool', { size: 1, mode: 'fast' });
    const unset = shared.acquire('pool', { mode: 'fast' });
    const later = shared.acquire('pool', { size: 2, mode: 'slow' });
    assert.equal(first.conflict, undefined);
    assert.equal(same.conflict, undefined);
    assert.equal(unset.conflict, undefined, 'no preference takes what is in use');
    assert.equal(later.conflict, 'the test resource pool is already open with other settings; using it as it is: size 2 (in use: 1), mode slow (in use: fast)');
    assert.equal(later.resource, first.resource, 'shared all the same: never a second one for one key');
    assert.deepEqual(later.resource.settings, { size: 1, mode: 'fast' }, "the first user's settings are the ones in use");
    await Promise.all([first, same, unset, later].map((lease) => lease.release()));
    assert.equal(shared.users('pool'), 0);
  });

  it('an asynchronous open: users arriving while it opens share it; `resource` refuses until it is open', async () => {
    const { shared, log } = recorder({ openAsync: true });
    const a = shared.acquire('db', {});
    assert.throws(() => a.resource, (err: unknown) => isPorchlightError(err) && /the test resource db is still opening/.test(err.message));
    const b = await shared.acquireOpen('db', {});
    assert.equal(await a.ready, b.resource);
    assert.deepEqual(log, ['open db {}']);
    await a.release();
    await b.release();
    assert.deepEqual(log, ['open db {}', 'close db #1']);
  });

  it('a failed open releases its users and is forgotten: the next acquire tries again', async () => {
    const { shared, log } = recorder({ failOpen: (attempt) => attempt === 1 });
    const a = shared.acquire('db', {});
    const b = shared.acquire('db', {});
    await assert.rejects(a.ready, /cannot open db/);
    await assert.rejects(b.ready, /cannot open db/);
    assert.equal(shared.users('db'), 0, 'no lease left behind by the failure');
    const c = await shared.acquireOpen('db', {});
    assert.equal(c.resource.id, 1);
    assert.deepEqual(log.filter((l) => l.startsWith('open db')), ['open db {} (fails)', 'open db {}']);
    await c.release();
    await a.release(); // releasing after the failure does nothing
    assert.equal(shared.users('db'), 0);
  });

  it('a synchronous open that throws rejects the lease, counting no user', async () => {
    const shared = new SharedResource<Settings, object>({
      what: 'thing',
      open: () => {
        throw new Error('no such thing');
      },
      close: () => undefined,
    });
    const lease = shared.acquire('t', {});
    await assert.rejects(lease.ready, /no such thing/);
    assert.equal(shared.users('t'), 0);
  });

  it('differingFields: fields set in both, compared by value', () => {
    assert.deepEqual(differingFields({ a: 1, b: [1, 2], c: 'x' }, { a: 1, b: [1, 2], c: 'y', d: 4 }), ['c y (in use: x)']);
    assert.deepEqual(differingFields({ a: 1 }, { a: undefined }), []);
    assert.deepEqual(differingFields({ b: { x: 1 } }, { b: { x: 2 } }), ['b {"x":2} (in use: {"x":1})']);
  });
});

describe('registrations of an owner\'s users (lib/process/shared-resource Registrations)', () => {
  function owner() {
    const log: string[] = [];
    let serial = 0;
    const users = new Registrations<string, number>({
      open: () => {
        log.push(`open #${++serial}`);
        return serial;
      },
      close: async (resource) => {
        await new Promise((resolve) => setImmediate(resolve));
        log.push(`close #${resource}`);
      },
    });
    return { users, log };
  }

  it('opens for the first user, closes after the last one deregistered (done after the close), and opens anew for the next', async () => {
    const { users, log } = owner();
    assert.deepEqual(users.register('a'), { resource: 1, added: true });
    assert.deepEqual(users.register('b'), { resource: 1, added: true });
    assert.deepEqual(users.register('a'), { resource: 1, added: false }, 'registering again is no new user');
    assert.equal(users.size, 2);
    await new Promise<void>((resolve) => users.deregister('a', resolve));
    assert.deepEqual(log, ['open #1'], 'closed while a user remains');
    assert.equal(users.current, 1);
    await new Promise<void>((resolve) => users.deregister('b', resolve));
    assert.deepEqual(log, ['open #1', 'close #1'], 'done before the close ended');
    assert.equal(users.current, undefined);
    users.deregister('b'); // again: nothing to close
    assert.deepEqual(users.register('c'), { resource: 2, added: true });
    assert.deepEqual(log, ['open #1', 'close #1', 'open #2']);
  });

  it('a close that fails still calls done; a forgotten resource is opened again, a dropped user closes nothing', async () => {
    const users = new Registrations<string, { n: number }>({
      open: () => ({ n: 1 }),
      close: () => {
        throw new Error('cannot close');
      },
    });
    const first = users.register('a').resource;
    users.forget({ n: 1 }); // not the one held: kept
    assert.equal(users.current, first);
    users.forget(first);
    assert.notEqual(users.register('b').resource, first);
    users.drop('a');
    assert.ok(!users.has('a'));
    assert.equal(users.size, 1);
    await new Promise<void>((resolve) => users.deregister('b', resolve));
    assert.equal(users.current, undefined);
  });
});
