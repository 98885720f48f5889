import { openStore, storeKey, type FaceStore, type StoreConfig } from '../store';
import { attachMatcher, type AttachedMatcher, type Matcher, type MatcherOptions } from './matcher';

export interface StoreLease {
  store: FaceStore;
  matcher: Matcher;
  /** Resolves when the matcher has loaded every stored embedding. */
  matcherReady: Promise<void>;
  release(): Promise<void>;
}

interface OpenStore {
  opening: Promise<{ store: FaceStore; attached: AttachedMatcher }>;
  leases: number;
}

const openStores = new Map<string, OpenStore>();

/**
 * One store and one matcher per database in the process (a SQLite file, or a
 * PostgreSQL database), however many nodes use it: SQLite is happiest with
 * one connection, PostgreSQL needs one pool and one LISTEN, and every node
 * then sees the same matcher, kept in step with every change. Closed on the
 * last release.
 */
export async function acquireSharedStore(config: StoreConfig, matcherOptions?: MatcherOptions): Promise<StoreLease> {
  const key = storeKey(config);
  let entry = openStores.get(key);
  if (!entry) {
    const opening = openStore(config).then((store) => ({ store, attached: attachMatcher(store, matcherOptions) }));
    entry = { opening, leases: 0 };
    openStores.set(key, entry);
    opening.catch(() => openStores.delete(key));
  }
  const current = entry;
  current.leases++;
  let opened;
  try {
    opened = await current.opening;
  } catch (err) {
    current.leases--;
    throw err;
  }
  const { store, attached } = opened;
  let released = false;
  return {
    store,
    matcher: attached.matcher,
    get matcherReady() {
      return attached.ready;
    },
    async release() {
      if (released) return;
      released = true;
      if (--current.leases > 0) return;
      if (openStores.get(key) === current) openStores.delete(key);
      attached.detach();
      await attached.ready.catch(() => undefined);
      await store.close();
    },
  };
}
