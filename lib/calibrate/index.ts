export * from './estimate';
export { collectHistory, type History, type HistoryOptions, type PersonSamples } from './history';
export * from './guard';
export * from './calibrate';
export * from './labels';
