/**
 * Settings as nodes and the CLI receive them: one reader of numbers (edit
 * dialogs store text; messages and command lines bring text or numbers) and
 * the default of every setting a node's edit dialog shows.
 */
export { choiceSetting, flagSetting, unset } from './choice';
export { NODE_DEFAULTS, type NodeDefaults } from './defaults';
export { numberSetting, parseNumber, readNumber, type NumberRule } from './number';
