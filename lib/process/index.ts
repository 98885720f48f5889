/** Process-level helpers code outside lib needs: the use-counted shared resource (pools, stores, replications). */
export { Registrations, SharedResource, differingFields, type SharedLease, type SharedResourceSpec } from './shared-resource';
export { ARENA_LIMIT, relaunchWithArenaLimit, runsOnGlibc, wantsArenaLimit } from './malloc-arenas';
