import { SharedResource } from '../process/shared-resource';
import { openStore, storeKey, type Store, type StoreConfig } from '../store';
import { attachMatcher, type AttachedMatcher, type Matcher, type MatcherOptions } from './matcher';

export interface StoreLease {
  store: Store;
  matcher: Matcher;
  /** Resolves when the matcher has loaded every stored embedding. */
  matcherReady: Promise<void>;
  /** Set when this user asked for other connection settings than the open store's: what differs, in words (never a password). */
  conflict?: string;
  release(): Promise<void>;
}

interface SharedStoreSettings {
  config: StoreConfig;
  matcherOptions?: MatcherOptions;
}

interface OpenStore {
  store: Store;
  attached: AttachedMatcher;
}

/** What two users of one database may disagree on: the key (file, or server + database + user) is the same. */
function storeDifferences(inUse: SharedStoreSettings, asked: SharedStoreSettings): string[] {
  const differences: string[] = [];
  const a = inUse.config.backend === 'postgres' ? inUse.config.postgres : undefined;
  const b = asked.config.backend === 'postgres' ? asked.config.postgres : undefined;
  if (a && b) {
    if ((a.password ?? '') !== (b.password ?? '')) differences.push('another password');
    if ((a.sslCa ?? '') !== (b.sslCa ?? '')) differences.push('another TLS CA');
  }
  const kernel = (s: SharedStoreSettings) => s.matcherOptions?.kernel;
  if (kernel(asked) && kernel(inUse) && kernel(asked) !== kernel(inUse)) differences.push(`matcher kernel ${kernel(asked)} (in use: ${kernel(inUse)})`);
  return differences;
}

const stores = new SharedResource<SharedStoreSettings, OpenStore>({
  what: 'database',
  open: async ({ config, matcherOptions }) => {
    const store = await openStore(config);
    return { store, attached: attachMatcher(store, matcherOptions) };
  },
  close: async ({ store, attached }) => {
    attached.detach();
    await attached.ready.catch(() => undefined);
    await store.close();
  },
  differences: storeDifferences,
});

/** How many users hold the database of `config` (0 when it is closed). */
export function sharedStoreUsers(config: StoreConfig): number {
  return stores.users(storeKey(config));
}

/**
 * One store and one matcher per database in the process (a SQLite file, or a
 * PostgreSQL database), however many nodes use it: SQLite is happiest with
 * one connection, PostgreSQL needs one pool and one LISTEN, and every node
 * then sees the same matcher, kept in step with every change. Closed on the
 * last release.
 */
export async function acquireSharedStore(config: StoreConfig, matcherOptions?: MatcherOptions): Promise<StoreLease> {
  const lease = await stores.acquireOpen(storeKey(config), { config, matcherOptions });
  const { store, attached } = lease.resource;
  return {
    store,
    matcher: attached.matcher,
    get matcherReady() {
      return attached.ready;
    },
    conflict: lease.conflict,
    release: lease.release,
  };
}
