/** The public API of lib/gpio: what code outside lib/ may import from this area. */
export { type Bias, BIASES, GpiomonWatcher } from './gpiomon';
export { DEFAULT_PRESS_OPTIONS, type Press, PressDetector } from './press-detector';
export { DoorbellButton, type DoorbellMessage, type DoorbellOutputs, type DoorbellSettings, watcherWords } from './doorbell';
