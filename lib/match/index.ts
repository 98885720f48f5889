export { Matcher, attachMatcher, DEFAULT_METRIC, type Match, type MatcherOptions, type AttachedMatcher } from './matcher';
export type { Metric } from './model-index';
export { acquireSharedStore, type StoreLease } from './shared-store';
