import { PorchlightError } from '../errors';

/**
 * A resource shared by key with a use count: opened by its first user,
 * closed after its last user releases it. Every worker pool, database
 * connection and event replication in the process is held this way, so a
 * redeploy (every user released, new users acquired) never leaves one open,
 * and two nodes naming the same database share one connection.
 *
 * The first user's settings open the resource. A later user asking for the
 * same key with other settings shares the open resource all the same (two
 * pools or two connections to one file would be worse), but is told: its
 * lease carries `conflict`, the text its node warns with.
 */
export interface SharedResourceSpec<S, R> {
  /** What the resource is, in the conflict text ("worker pool", "database"). */
  what: string;
  /** Opens the resource with its first user's settings. */
  open(settings: S, key: string): R | Promise<R>;
  /** Closes it after its last user released it. */
  close(resource: R, key: string): void | Promise<void>;
  /**
   * The settings in which `asked` differs from those the resource was opened
   * with, as "name asked (in use: value)". Default: every field both set
   * (not undefined) to different values; a field left undefined takes what is in use.
   */
  differences?(inUse: S, asked: S): string[];
}

export interface SharedLease<R> {
  readonly key: string;
  /** Resolves with the resource once open (rejects when it could not be opened; the lease is then released). */
  readonly ready: Promise<R>;
  /** The open resource; throws while it is still opening. */
  readonly resource: R;
  /** Set when this user asked for settings other than the ones in use: what differs, in words. */
  readonly conflict?: string;
  /** Gives the lease back (once; later calls do nothing). Resolves when the resource is closed, if this was its last user. */
  release(): Promise<void>;
}

interface Entry<S, R> {
  settings: S;
  opening: Promise<R>;
  resource?: R;
  opened: boolean;
  users: number;
}

const show = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

/** Fields set in both to different values, in words. */
export function differingFields<S>(inUse: S, asked: S): string[] {
  const a = (inUse ?? {}) as Record<string, unknown>;
  const b = (asked ?? {}) as Record<string, unknown>;
  return Object.keys(b)
    .filter((name) => a[name] !== undefined && b[name] !== undefined && show(a[name]) !== show(b[name]))
    .map((name) => `${name} ${show(b[name])} (in use: ${show(a[name])})`);
}

export class SharedResource<S, R> {
  private readonly entries = new Map<string, Entry<S, R>>();

  constructor(private readonly spec: SharedResourceSpec<S, R>) {}

  /**
   * A lease on the resource `key`, opened now with `settings` if nobody holds
   * it. Synchronous: `resource` is usable at once when `open` is synchronous,
   * else after `ready`.
   */
  acquire(key: string, settings: S): SharedLease<R> {
    let entry = this.entries.get(key);
    let conflict: string | undefined;
    if (!entry) {
      entry = this.openEntry(key, settings);
    } else {
      const differences = (this.spec.differences ?? differingFields)(entry.settings, settings);
      if (differences.length) conflict = `the ${this.spec.what} ${key} is already open with other settings; using it as it is: ${differences.join(', ')}`;
    }
    const current = entry;
    const spec = this.spec;
    current.users++;
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      if (--current.users > 0) return;
      if (this.entries.get(key) === current) this.entries.delete(key);
      const resource = await current.opening.catch(() => undefined);
      if (resource !== undefined) await this.spec.close(resource, key);
    };
    const ready = current.opening.catch(async (err: unknown) => {
      await release();
      throw err;
    });
    ready.catch(() => undefined); // a caller that only reads `resource` must not leave it unhandled
    return {
      key,
      ready,
      conflict,
      get resource(): R {
        if (!current.opened) throw new PorchlightError('INTERNAL', `the ${spec.what} ${key} is still opening: wait for the lease's ready`);
        return current.resource as R;
      },
      release,
    };
  }

  /** Acquires and waits until the resource is open. */
  async acquireOpen(key: string, settings: S): Promise<SharedLease<R>> {
    const lease = this.acquire(key, settings);
    await lease.ready;
    return lease;
  }

  /** The open resource of `key` if anyone holds it, without acquiring it. */
  peek(key: string): R | undefined {
    const entry = this.entries.get(key);
    return entry?.opened ? entry.resource : undefined;
  }

  /** How many leases on `key` are held (0 when it is closed). */
  users(key: string): number {
    return this.entries.get(key)?.users ?? 0;
  }

  private openEntry(key: string, settings: S): Entry<S, R> {
    const entry: Entry<S, R> = { settings, opening: undefined as never, opened: false, users: 0 };
    const opened = (resource: R) => {
      entry.resource = resource;
      entry.opened = true;
      return resource;
    };
    let result: R | Promise<R>;
    try {
      result = this.spec.open(settings, key);
    } catch (err) {
      result = Promise.reject(err);
    }
    entry.opening = result instanceof Promise ? result.then(opened) : Promise.resolve(opened(result));
    // A failed open is forgotten at once: the next user tries again.
    entry.opening.catch(() => {
      if (this.entries.get(key) === entry) this.entries.delete(key);
    });
    this.entries.set(key, entry);
    return entry;
  }
}

/**
 * The users of one owner's resource, as a config node holds its pool or its
 * database (the core mqtt-broker pattern): the resource is opened for the
 * first user to register and closed after the last one deregisters, so a
 * redeploy (every user gone, new ones registered) opens it anew.
 */
export class Registrations<U, R> {
  private readonly users = new Set<U>();
  private held: R | undefined;

  constructor(
    private readonly spec: {
      /** Opens the resource for the first user (a promise of it, for one that opens asynchronously). */
      open(): R;
      /** Closes it after the last user deregistered. */
      close(resource: R): unknown;
    },
  ) {}

  /** Registers `user` (again: no effect); the resource, opened for the first user, and whether `user` is new. */
  register(user: U): { resource: R; added: boolean } {
    this.held ??= this.spec.open();
    const added = !this.users.has(user);
    this.users.add(user);
    return { resource: this.held, added };
  }

  /** Deregisters `user`; after the last one the resource is closed (`done` when closed, if this closed it; at once otherwise). */
  deregister(user: U, done: () => void = () => undefined): void {
    this.users.delete(user);
    const held = this.held;
    if (this.users.size > 0 || held === undefined) {
      done();
      return;
    }
    this.held = undefined;
    new Promise((resolve) => resolve(this.spec.close(held))).then(done, done);
  }

  /** Drops `user` without closing anything (its registration failed). */
  drop(user: U): void {
    this.users.delete(user);
  }

  /** Forgets `resource` when it is the one held (it failed to open): the next user to register opens it again. */
  forget(resource: R): void {
    if (this.held === resource) this.held = undefined;
  }

  /** The resource while a user holds it, else undefined (nothing is opened). */
  get current(): R | undefined {
    return this.held;
  }

  has(user: U): boolean {
    return this.users.has(user);
  }

  get size(): number {
    return this.users.size;
  }
}
