export { Matcher, attachMatcher, defaultMetric, type Match, type MatcherOptions, type AttachedMatcher } from './matcher';
export type { Metric } from './model-index';
