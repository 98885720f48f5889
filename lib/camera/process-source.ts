import { spawn, type ChildProcess } from 'node:child_process';
import { terminateChild } from '../process/child';
import { redactUrl } from './http';
import { JpegStreamSplitter } from './jpeg-splitter';
import { ReconnectingSource, type ReconnectOptions } from './source';

export interface ProcessSourceOptions extends ReconnectOptions {
  command: string;
  args: string[];
  /** Status text when the program is not installed, e.g. "ffmpeg not installed: apt install ffmpeg". */
  missingHint: string;
  /** How long to wait for the process to exit after SIGTERM before SIGKILL, ms. */
  killGraceMs?: number;
}

/**
 * A child process writing concatenated JPEGs to stdout (ffmpeg `-f mjpeg
 * pipe:1`, `rpicam-vid --codec mjpeg -o -`). An exit or a stall restarts it
 * with backoff; stderr's last line becomes the status text.
 */
export class ProcessSource extends ReconnectingSource {
  private child: ChildProcess | undefined;

  constructor(private readonly options: ProcessSourceOptions) {
    super(redactUrl(`${options.command} ${options.args.join(' ')}`).slice(0, 200), options);
  }

  protected connect(): void {
    const splitter = new JpegStreamSplitter({
      frame: (jpeg) => this.frameArrived(jpeg),
      problem: (reason) => this.problem(reason),
    });
    let lastError = '';
    const child = spawn(this.options.command, this.options.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (chunk: Buffer) => splitter.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => {
      const lines = chunk.toString('utf8').split('\n').map((l) => l.trim()).filter(Boolean);
      if (lines.length) lastError = redactUrl(lines[lines.length - 1]).slice(0, 200); // ffmpeg echoes the input URL, password included
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') this.connectionLost(this.options.missingHint, 'error');
      else this.connectionLost(`${this.options.command}: ${err.message}`, 'error');
    });
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
      this.connectionLost(`${this.options.command} ${how}${lastError ? `: ${lastError}` : ''}`);
    });
  }

  protected async disconnect(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    await terminateChild(child, this.options.killGraceMs ?? 3_000);
  }
}

export interface FfmpegOptions {
  /** A file, an `rtsp://` URL, a v4l2 device (`/dev/video0`) or any URL ffmpeg reads. */
  input: string;
  fps?: number;
  /** Scale to this width (height follows the aspect ratio); 0 keeps the size. */
  width?: number;
  /** JPEG quality, 2 (best) to 31. */
  quality?: number;
}

/** ffmpeg's command line for an input, writing MJPEG to stdout. */
export function ffmpegArgs(options: FfmpegOptions): string[] {
  const { input } = options;
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin'];
  if (/^rtsps?:\/\//i.test(input)) args.push('-rtsp_transport', 'tcp');
  else if (input.startsWith('/dev/video')) args.push('-f', 'v4l2');
  else if (!input.includes('://')) args.push('-re', '-stream_loop', '-1'); // a file plays in real time, looped, like a camera
  args.push('-i', input, '-an');
  const filters: string[] = [];
  if (options.fps && options.fps > 0) filters.push(`fps=${options.fps}`);
  if (options.width && options.width > 0) filters.push(`scale=${Math.round(options.width)}:-2`);
  if (filters.length) args.push('-vf', filters.join(','));
  const quality = Math.min(31, Math.max(2, Math.round(options.quality ?? 5)));
  args.push('-q:v', String(quality), '-f', 'mjpeg', 'pipe:1');
  return args;
}

export function ffmpegSource(options: FfmpegOptions & ReconnectOptions & { command?: string }): ProcessSource {
  return new ProcessSource({ ...options, command: options.command ?? 'ffmpeg', args: ffmpegArgs(options), missingHint: 'ffmpeg not installed: apt install ffmpeg' });
}

export interface RpicamOptions {
  width?: number;
  height?: number;
  fps?: number;
  /** JPEG quality 1..100. */
  quality?: number;
}

/** The frame size rpicam-vid is asked for when none is set. */
export const DEFAULT_RPICAM_SIZE = { width: 1280, height: 720 } as const;

/** rpicam-vid's command line for MJPEG on stdout, running until stopped. */
export function rpicamArgs(options: RpicamOptions): string[] {
  return [
    '-t', '0', '--nopreview', '--codec', 'mjpeg',
    '--width', String(options.width ?? DEFAULT_RPICAM_SIZE.width), '--height', String(options.height ?? DEFAULT_RPICAM_SIZE.height),
    '--framerate', String(options.fps ?? 15), '-q', String(options.quality ?? 80),
    '-o', '-',
  ];
}

export function rpicamSource(options: RpicamOptions & ReconnectOptions & { command?: string }): ProcessSource {
  return new ProcessSource({ ...options, command: options.command ?? 'rpicam-vid', args: rpicamArgs(options), missingHint: 'rpicam-vid not installed: apt install rpicam-apps' });
}
