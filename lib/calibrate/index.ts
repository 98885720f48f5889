export * from './estimate';
export { collectHistory, type History, type HistoryOptions } from './history';
export * from './calibrate';
export * from './labels';
