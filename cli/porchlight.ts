#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { BACKUP_USAGE } from './backup';
import { USAGE_ERROR } from './common';
import { runDetectCommand, runRecognizeCommand } from './commands';
import { defaultCacheFile, evalLfw, formatReport } from './eval-lfw';
import { countOption, runEvalLfwPeople } from './eval-openset';
import { DEFAULT_STRANGERS_ONE_IN } from '../lib/recognize';
import { isPorchlightError, PorchlightError } from '../lib/errors';
import { parseNumber } from '../lib/settings';
import { ENGINE_USAGE, MODELS_USAGE, engineFromCli, engineRequestOf } from './models';

const USAGE = `usage: porchlight <command> [options]

commands:
  detect <image-or-dir>...                 one line per face: file,top,right,bottom,left
  recognize <known_dir> <unknown_dir-or-image> [--strangers 1000 | --tolerance D] [--margin 0.05] [--show-distance]
                                           --strangers N: about 1 in N strangers named as someone (default 1000),
                                           a distance for the recognizer and the number of known people;
                                           --tolerance D: a raw distance instead
                                           file,name[,distance] | file,unknown_person | file,no_persons_found
  enroll --db <file|postgres://...> <dir> [--list known|blacklist]
                                           enrolls a folder-per-person tree into a Porchlight database file
                                           (or a shared PostgreSQL database: postgres://user:password@host:port/db),
                                           new people onto the list given (default known)
  eval lfw --images <dir> --pairs <pairs.txt> [--json] [--limit N] [--no-flip] [--cache <file> | --no-cache]
           [--second-detector tiny-face-detector|none]
                                           LFW verification accuracy (10-fold with pairs.txt)
  eval openset --images <lfw dir> [--json] [--sizes 10,20,50,100,200] [--trials 5] [--strangers 1000]
           [--max-strangers N] [--cache <file> | --no-cache]
                                           open-set identification: known people named right vs strangers
                                           named as someone, per gallery size, on half of LFW's people
  eval impostors --images <lfw dir> [--out <file>]
                                           the impostor-distance table of the engine's recognizer (JSON),
                                           from the other half (lib/recognize/impostors/*.json)
${MODELS_USAGE}
${BACKUP_USAGE}

common options:
  --threads N        worker threads (default 1)
  --detector NAME    see the engine options (default: the engine's, YuNet)

engine options:
${ENGINE_USAGE}
`;

type Out = { out: (line: string) => void; err: (line: string) => void };

/** The options that take a value, and the flags (all checked by parseArgs' strict mode). */
const VALUE_OPTIONS = [
  'tolerance', 'margin', 'db', 'images', 'pairs', 'limit', 'sizes', 'trials', 'strangers', 'max-strangers', 'out', 'cache', 'threads',
  'detector', 'second-detector', 'list', 'from', 'user-dir', 'to', 'keep', 'backend', 'recognizer',
] as const;
const FLAGS = ['show-distance', 'json', 'no-flip', 'no-cache'] as const;

const OPTIONS = {
  ...(Object.fromEntries(VALUE_OPTIONS.map((name) => [name, { type: 'string' }])) as { [K in (typeof VALUE_OPTIONS)[number]]: { type: 'string' } }),
  ...(Object.fromEntries(FLAGS.map((name) => [name, { type: 'boolean' }])) as { [K in (typeof FLAGS)[number]]: { type: 'boolean' } }),
  help: { type: 'boolean', short: 'h' },
} as const;

const positiveNumber = (value: string | undefined, name: string, fallback: number): number => parseNumber(value, `--${name}`, { min: 0 }, 'USAGE') ?? fallback;

/** Runs the CLI and returns its exit code (the bin wrapper exits with it; tests call this directly). */
export async function main(argv: string[], io: Out = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) }): Promise<number> {
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (err) {
      throw new PorchlightError('USAGE', (err as Error).message);
    }
    const { values, positionals } = parsed;
    const [command, ...rest] = positionals;
    if (values.help || !command) {
      io.out(USAGE);
      return command || values.help ? 0 : USAGE_ERROR;
    }
    const threads = Math.max(1, Math.floor(positiveNumber(values.threads, 'threads', 1)));
    const detector = values.detector ?? 'ssd-mobilenetv1';
    const needsEngine = ['detect', 'recognize', 'enroll', 'eval'].includes(command);
    const selection = needsEngine ? await engineFromCli({ backend: values.backend, detector: values.detector, recognizer: values.recognizer }, values['user-dir']) : undefined;
    // Said on stderr when asked for by an option (the default run prints only what face_recognition's CLI would).
    if (selection && (values.backend || values.detector || values.recognizer)) io.err(`engine: ${selection.label}; ${selection.reason}`);
    const engine = selection && engineRequestOf(selection);
    // Distances of different recognizers are on different scales: the default follows the engine.
    const fallbackTolerance = selection?.tolerance ?? 0.6;
    const tolerance = values.tolerance === undefined ? undefined : positiveNumber(values.tolerance, 'tolerance', fallbackTolerance);
    switch (command) {
      case 'detect':
        if (rest.length === 0) throw new PorchlightError('USAGE', 'detect needs at least one image or folder');
        return await runDetectCommand(rest, { threads, detector, engine }, io);
      case 'recognize':
        if (rest.length !== 2) throw new PorchlightError('USAGE', 'recognize needs <known_dir> and <unknown_dir-or-image>');
        return await runRecognizeCommand(rest[0], rest[1], {
          threads,
          detector,
          engine,
          tolerance,
          strangersOneIn: countOption(values.strangers, 'strangers', DEFAULT_STRANGERS_ONE_IN, 2),
          fallbackTolerance,
          margin: positiveNumber(values.margin, 'margin', 0.05),
          showDistance: values['show-distance'] === true,
        }, io);
      case 'enroll': {
        if (!values.db || rest.length !== 1) throw new PorchlightError('USAGE', 'enroll needs --db <file> and one folder');
        const { runEnrollCommand } = await import('./enroll');
        return await runEnrollCommand(values.db, rest[0], { threads, detector, list: values.list, engine }, io);
      }
      case 'eval': {
        if (rest[0] === 'openset' || rest[0] === 'impostors') return await runEvalLfwPeople(rest[0], values, { threads, selection }, io);
        if (rest[0] !== 'lfw') throw new PorchlightError('USAGE', 'eval knows lfw, openset and impostors: porchlight eval lfw --images <dir> --pairs <pairs.txt>');
        if (!values.images || !values.pairs) throw new PorchlightError('USAGE', 'eval lfw needs --images <dir> and --pairs <pairs.txt>');
        const flip = values['no-flip'] !== true;
        // face-api's SSD misses faces that its Tiny detector finds; the ONNX detectors get no second one.
        const secondDetector = values['second-detector'] ?? (selection?.detector.startsWith('ssd-mobilenetv1') ? 'tiny-face-detector' : 'none');
        const limit = values.limit === undefined ? undefined : Math.floor(positiveNumber(values.limit, 'limit', 0));
        const report = await evalLfw({
          images: values.images,
          pairs: values.pairs,
          json: values.json === true,
          limit,
          threads,
          detector,
          secondDetector,
          flip,
          tolerance: tolerance ?? fallbackTolerance,
          engine,
          cache: values['no-cache'] ? undefined : values.cache ?? defaultCacheFile({ detector, secondDetector, flip, engine }),
          log: values.json ? () => undefined : io.err,
        });
        io.out(values.json ? JSON.stringify(report) : formatReport(report));
        return 0;
      }
      case 'backup': {
        if (!values.db || rest.length) throw new PorchlightError('USAGE', 'backup needs --db <file> (and optionally --to <folder>, --keep N)');
        const keep = values.keep === undefined ? undefined : Math.max(1, Math.floor(positiveNumber(values.keep, 'keep', 7)));
        return await (await import('./backup')).runBackupCommand(values.db, { to: values.to, keep }, io);
      }
      case 'restore':
        if (!values.db || rest.length !== 1) throw new PorchlightError('USAGE', 'restore needs <backup> and --db <file>');
        return await (await import('./backup')).runRestoreCommand(rest[0], values.db, io);
      case 'models':
        return await (await import('./models')).runModelsCommand(rest, { from: values.from, userDir: values['user-dir'] }, io);
      default:
        throw new PorchlightError('USAGE', `unknown command "${command}"\n${USAGE}`);
    }
  } catch (err) {
    io.err(`porchlight: ${(err as Error).message}`);
    return isPorchlightError(err, 'USAGE') ? USAGE_ERROR : 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
