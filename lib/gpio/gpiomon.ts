import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import readline from 'node:readline';
import { Backoff } from '../process/backoff';
import { terminateChild } from '../process/child';
import { PorchlightError } from '../errors';

/**
 * The Linux GPIO character device through Debian's `gpiod` tools. `gpiomon`'s
 * command line and output changed between libgpiod v1 (Debian 12, Raspberry
 * Pi OS bookworm) and v2 (Debian 13, Ubuntu 24.04), so the version is read at
 * start and both dialects are spoken.
 */
export type GpiomonDialect = 1 | 2;

export type Bias = 'as-is' | 'pull-up' | 'pull-down' | 'disable';
export const BIASES: readonly Bias[] = ['as-is', 'pull-up', 'pull-down', 'disable'];

export interface LineConfig {
  /** `gpiochip0`, `0`, a path such as `/dev/gpiochip4`, or a chip label. */
  chip: string;
  /** Line offset on the chip (BCM number on a Pi's gpiochip0). */
  line: number;
  bias: Bias;
  /** Pressed when the pin is low (a button to ground with a pull-up). */
  activeLow: boolean;
}

export const GPIOMON_MISSING = 'gpiomon not installed: apt install gpiod';

/** "gpiomon (libgpiod) v1.6.3" -> 1; "gpiomon (libgpiod) v2.1" -> 2. */
export function parseGpiomonVersion(text: string): GpiomonDialect | undefined {
  const major = /libgpiod\)?\s*v?(\d+)\./i.exec(text)?.[1] ?? /\bv(\d+)\.\d+/.exec(text)?.[1];
  if (major === '1') return 1;
  if (major === '2' || major === '3') return 2;
  return undefined;
}

/** Runs `gpiomon --version`; rejects with `GPIOMON_MISSING` when the tool is not there. */
export function detectGpiomon(command = 'gpiomon'): Promise<GpiomonDialect> {
  return new Promise((resolve, reject) => {
    execFile(command, ['--version'], { timeout: 5_000 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new PorchlightError('DEVICE_UNAVAILABLE', GPIOMON_MISSING));
        return;
      }
      const dialect = parseGpiomonVersion(`${stdout}\n${stderr}`);
      if (dialect) resolve(dialect);
      else reject(new PorchlightError('DEVICE_UNAVAILABLE', `unknown gpiomon version: ${(stdout || stderr || String(err)).split('\n')[0]}`));
    });
  });
}

/** The command line watching both edges of one line, in the dialect of the installed tool. */
export function gpiomonArgs(dialect: GpiomonDialect, config: LineConfig): string[] {
  const args: string[] = [];
  if (dialect === 1) {
    args.push('--line-buffered');
    if (config.bias !== 'as-is') args.push(`--bias=${config.bias}`);
    if (config.activeLow) args.push('--active-low');
    args.push(config.chip, String(config.line));
  } else {
    args.push('--chip', config.chip, '--edges=both');
    if (config.bias !== 'as-is') args.push(`--bias=${config.bias === 'disable' ? 'disabled' : config.bias}`);
    if (config.activeLow) args.push('--active-low');
    args.push(String(config.line));
  }
  return args;
}

export interface GpioEdge {
  /** Rising = the logical level went to 1 (pressed, with active-low set for a button to ground). */
  rising: boolean;
  offset?: number;
}

const V1_EVENT = /event:\s*(RISING|FALLING)\s+EDGE\s+offset:\s*(\d+)/i;
// v2: "<seconds>.<ns>\t<rising|falling>\t<chip> <offset>" or "... \t\"<line name>\"".
const V2_EVENT = /^\s*\d+(?:\.\d+)?\s+(rising|falling)\s+(?:"[^"]*"|\S+\s+(\d+))?/i;

/** One output line of either gpiomon dialect, or undefined for anything else. */
export function parseGpiomonLine(line: string): GpioEdge | undefined {
  const v1 = V1_EVENT.exec(line);
  if (v1) return { rising: v1[1].toUpperCase() === 'RISING', offset: Number(v1[2]) };
  const v2 = V2_EVENT.exec(line);
  if (v2) return { rising: v2[1].toLowerCase() === 'rising', offset: v2[2] === undefined ? undefined : Number(v2[2]) };
  return undefined;
}

/** The device file a chip name stands for, when it can be known without asking the kernel. */
export function chipDevicePath(chip: string): string | undefined {
  if (/^\d+$/.test(chip)) return `/dev/gpiochip${chip}`;
  if (/^gpiochip\d+$/.test(chip)) return `/dev/${chip}`;
  if (chip.startsWith('/')) return chip;
  return undefined; // a label ("pinctrl-rp1"): only gpiomon can resolve it
}

/** gpiomon's error output, turned into what the user should do. */
export function explainGpiomonError(stderr: string, chip: string): string | undefined {
  // ENOENT at start; ENODEV ("No such device") when the chip goes away while gpiomon waits on it.
  if (/no such file|no such device|unable to open chip|cannot find|not found/i.test(stderr)) return `${chip} not found`;
  if (/permission denied/i.test(stderr)) return `permission denied on ${chip}: add the user to the gpio group`;
  if (/busy/i.test(stderr)) return `line busy: another program holds it`;
  return undefined;
}

export type WatcherState = 'starting' | 'watching' | 'restarting' | 'error' | 'stopped';

interface WatcherEvents {
  edge: [GpioEdge];
  state: [state: WatcherState, detail: string];
}

export interface WatcherOptions {
  command?: string;
  backoff?: Backoff;
  /** A run this long counts as healthy: the next crash restarts after the initial delay again, ms. */
  healthyAfterMs?: number;
}

/**
 * Keeps one `gpiomon` running for a line and reports its edges. A missing
 * tool or chip becomes a clear state rather than an exception; a crashed
 * gpiomon is restarted with backoff until `stop()`.
 */
export class GpiomonWatcher extends EventEmitter<WatcherEvents> {
  private child: ChildProcess | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly command: string;
  private readonly backoff: Backoff;
  dialect: GpiomonDialect | undefined;
  /** How many times gpiomon was (re)started. */
  starts = 0;

  constructor(
    readonly config: LineConfig,
    private readonly options: WatcherOptions = {},
  ) {
    super();
    this.command = options.command ?? 'gpiomon';
    this.backoff = options.backoff ?? new Backoff(1_000, 30_000);
  }

  get where(): string {
    return `${this.config.chip}/${this.config.line}`;
  }

  start(): void {
    this.emit('state', 'starting', this.where);
    void this.launch();
  }

  private async launch(): Promise<void> {
    this.restartTimer = undefined;
    if (this.stopped) return;
    try {
      this.dialect ??= await detectGpiomon(this.command);
    } catch (err) {
      this.retry('error', (err as Error).message);
      return;
    }
    const device = chipDevicePath(this.config.chip);
    if (device && !fs.existsSync(device)) {
      this.retry('error', `${this.config.chip} not found`);
      return;
    }
    if (this.stopped) return;
    this.spawnGpiomon(this.dialect);
  }

  private spawnGpiomon(dialect: GpiomonDialect): void {
    const startedAt = Date.now();
    const child = spawn(this.command, gpiomonArgs(dialect, this.config), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.starts++;
    let stderr = '';
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const edge = parseGpiomonLine(line);
      if (edge && (edge.offset === undefined || edge.offset === this.config.line)) this.emit('edge', edge);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2_000);
    });
    child.on('spawn', () => this.emit('state', 'watching', `${this.where} (libgpiod v${dialect})`));
    child.on('error', (err: NodeJS.ErrnoException) => {
      this.child = undefined;
      this.retry('error', err.code === 'ENOENT' ? GPIOMON_MISSING : err.message);
    });
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.stopped) return;
      if (Date.now() - startedAt >= (this.options.healthyAfterMs ?? 10_000)) this.backoff.reset();
      const explained = explainGpiomonError(stderr, this.config.chip);
      const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
      const lastLine = stderr.trim().split('\n').pop() ?? '';
      this.retry(explained ? 'error' : 'restarting', explained ?? `gpiomon ${how}${lastLine ? `: ${lastLine}` : ''}`);
    });
  }

  private retry(state: 'restarting' | 'error', detail: string): void {
    if (this.stopped || this.restartTimer) return;
    const delay = this.backoff.next();
    this.emit('state', state, `${detail} (retry in ${Math.round(delay / 100) / 10} s)`);
    this.restartTimer = setTimeout(() => void this.launch(), delay);
  }

  /** Stops gpiomon (SIGTERM, then SIGKILL after 2 s) and any pending restart. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    this.child = undefined;
    await terminateChild(child, 2_000);
    this.emit('state', 'stopped', '');
  }
}
