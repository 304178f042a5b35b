/**
 * The one home for turning command-line text into values (issue 13): numbers with bounds, sizes, crops,
 * comma lists, enumerations and paths, each a commander `argParser`, plus the option blocks several
 * commands share (--strict, --max-gap, --json, --seed, --compression, --scene).
 *
 * Two message styles, both one line, both exit code 2 (src/cli/errors.ts):
 *   a value:  `--window-ms must be a number between 0.1 and 60000, got 'abc'`   (UsageError)
 *   a path:   `runs/x: does not exist, expected a training run directory for <run_dir>` (InputFileError: the
 *             same words the loaders use, so a bad path reads the same whether the CLI or a loader meets it)
 *
 * Sizes are W x H (width first) in every command. `train` and `infer` read H x W before; since both forms
 * are `AxB` the old one cannot be told apart, so those two commands print a note for a non-square size
 * (a square one means the same either way). See `legacySizeNote`.
 */
import { Argument, Option, type Command } from 'commander';
import { statSync } from 'node:fs';
import { checkInputFile, InputFileError } from '../util/input-error.js';
import { SCENE_PRESETS, type ScenePresetName } from '../sim/presets.js';
import { SENSOR_PRESET_NAMES } from '../sim/sensor-presets.js';
import type { CropRect } from '../framing/frame.js';
import { DEFAULT_BAF_WINDOW_US, DEFAULT_HOT_K, DEFAULT_HOT_LEARN_US, DEFAULT_REFRACTORY_US, type FilterSpec } from '../filters/index.js';
import { UsageError } from './errors.js';

export { UsageError };
export type { CropRect };

/** Parses one option's text; `name` is the flag (`--size`) or argument (`<file>`) for the message. */
export interface Parse<T> {
  (text: string, name: string): T;
  /** What a valid value is, for messages: 'a number >= 0', 'W x H in pixels ...'. */
  readonly what: string;
}

/** A parser from a function that throws (`refuse`) on bad text, and the words for what it accepts. */
export function parser<T>(what: string, fn: (text: string, name: string) => T): Parse<T> {
  return Object.assign(fn, { what });
}

/** The user's text, quoted on one line (a pasted newline or escape must not split or colour the message). */
function shown(text: string): string {
  const t = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  return t.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Throw the one-line refusal: `<name> must be <what>, got '<text>'`. */
export function refuse(name: string, what: string, text: string): never {
  throw new UsageError(`${name} must be ${what}, got '${shown(text)}'`);
}

// ------------------------------------------------------------------ numbers

export interface NumberBounds {
  /** Smallest allowed value (inclusive). */
  min?: number;
  /** Largest allowed value (inclusive). */
  max?: number;
  /** Exclusive lower bound (`> above`), e.g. 0 for a positive length. */
  above?: number;
  /** Also accept 'Infinity' (e.g. a guard that Infinity turns off). */
  infinity?: boolean;
  /** Words appended in parentheses to the description, e.g. 'seconds; 0 = off'. */
  note?: string;
}

function describe(kind: string, b: NumberBounds): string {
  let s = kind;
  if (b.min !== undefined && b.max !== undefined) s += ` between ${b.min} and ${b.max}`;
  else if (b.above !== undefined) s += ` > ${b.above}${b.max !== undefined ? ` and <= ${b.max}` : ''}`;
  else if (b.min !== undefined) s += ` >= ${b.min}`;
  else if (b.max !== undefined) s += ` <= ${b.max}`;
  return b.note ? `${s} (${b.note})` : s;
}

function numberIn(text: string, b: NumberBounds, integer: boolean): number | undefined {
  // Number('') and Number('  ') are 0: an empty value is a mistake, not zero
  if (text.trim() === '') return undefined;
  const v = Number(text);
  if (Number.isNaN(v)) return undefined;
  if (!Number.isFinite(v) && !(b.infinity && v === Infinity)) return undefined;
  if (integer && Number.isFinite(v) && !Number.isSafeInteger(v)) return undefined;
  if (b.min !== undefined && v < b.min) return undefined;
  if (b.max !== undefined && v > b.max) return undefined;
  if (b.above !== undefined && !(v > b.above)) return undefined;
  return v;
}

/** A number (finite unless `infinity`) within the bounds. */
export function numberArg(b: NumberBounds = {}): Parse<number> {
  const what = describe('a number', b);
  return parser(what, (text, name) => numberIn(text, b, false) ?? refuse(name, what, text));
}

/** A (safe) integer within the bounds. */
export function integerArg(b: Omit<NumberBounds, 'infinity'> = {}): Parse<number> {
  const what = describe('an integer', b);
  return parser(what, (text, name) => numberIn(text, b, true) ?? refuse(name, what, text));
}

// ------------------------------------------------------------------ sizes and crops

export interface Size {
  width: number;
  height: number;
}

/** Largest side a `--size` may ask for: a 8192 x 8192 two-channel float frame is already 512 MiB. */
export const MAX_SIDE = 8192;

/** `WxH` (width first; `x`, `X` or `×`), or `N` for N x N; each side 1..MAX_SIDE. */
export const sizeArg: Parse<Size> = parser(`W x H in pixels, width first, e.g. 64x32 (each 1 to ${MAX_SIDE})`, (text, name) => {
  const m = /^\s*(\d{1,6})\s*(?:[xX×]\s*(\d{1,6}))?\s*$/.exec(text);
  const width = m ? Number(m[1]) : NaN;
  const height = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(width >= 1 && width <= MAX_SIDE && height >= 1 && height <= MAX_SIDE)) refuse(name, sizeArg.what, text);
  return { width, height };
});

/** `--size` text -> Size (for callers outside commander, e.g. runInfer given a string). */
export function parseSize(text: string, name = '--size'): Size {
  return sizeArg(text, name);
}

/**
 * The note `train` and `infer` print for a non-square `--size`: they read H x W before this version, and
 * `64x32` is valid either way, so it cannot be refused; the note says how it was read. Undefined when
 * there is nothing to say (a square size means the same in both readings).
 */
export function legacySizeNote(size: Size, name = '--size'): string | undefined {
  if (size.width === size.height) return undefined;
  return `note: ${name} is W x H (width first) in every command; train and infer used to read H x W. ${size.width}x${size.height} = ${size.width} wide, ${size.height} high`;
}

/** Print `legacySizeNote` on stderr when there is one (train and infer, before they run). */
export function noteLegacySize(size: Size | undefined, name = '--size'): void {
  const note = size && legacySizeNote(size, name);
  if (note) console.error(note);
}

/** `x,y,w,h`: integers >= 0, w and h >= 1. */
export const cropArg: Parse<CropRect> = parser('x,y,w,h (integers >= 0, w and h >= 1)', (text, name) => {
  const parts = text.split(',').map((s) => (s.trim() === '' ? NaN : Number(s)));
  if (parts.length !== 4 || parts.some((v) => !Number.isSafeInteger(v) || v < 0) || parts[2]! < 1 || parts[3]! < 1) refuse(name, cropArg.what, text);
  const [x, y, width, height] = parts as [number, number, number, number];
  return { x, y, width, height };
});

// ------------------------------------------------------------------ enumerations and lists

/** One of `values` (exact). */
export function oneOf<T extends string>(values: readonly T[]): Parse<T> {
  const what = `one of ${values.join(', ')}`;
  return parser(what, (text, name) => (values.includes(text as T) ? (text as T) : refuse(name, what, text)));
}

/** A comma list (empty items dropped), each parsed by `item`; the message names the whole list. */
export function listOf<T>(item: Parse<T>): Parse<T[]> {
  const what = `a comma list, each ${item.what}`;
  return parser(what, (text, name) => {
    const parts = text.split(',').filter((s) => s.trim() !== '');
    try {
      return parts.map((s) => item(s.trim(), name));
    } catch (e) {
      if (e instanceof UsageError) refuse(name, what, text);
      throw e;
    }
  });
}

// ------------------------------------------------------------------ paths

/**
 * A path that must be an existing regular file (any size: event files may be far larger than 2 GiB).
 * The error is the loaders' InputFileError with the option named: `x: is a directory, expected
 * a .safetensors weights file for --weights`.
 */
export function existingFile(expected: string): Parse<string> {
  return parser(`an existing file (${expected})`, (text, name) => {
    try {
      checkInputFile(text, expected, Infinity);
    } catch (e) {
      if (e instanceof InputFileError) throw new InputFileError(e.path, e.problem, `${expected} for ${name}`);
      throw e;
    }
    return text;
  });
}

/** A path that must be an existing directory. */
export function existingDir(expected: string): Parse<string> {
  return parser(`an existing directory (${expected})`, (text, name) => {
    let isDir: boolean;
    try {
      isDir = statSync(text).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const problem = code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist' : `cannot be read (${(e as Error).message})`;
      throw new InputFileError(text, problem, `${expected} for ${name}`);
    }
    if (!isDir) throw new InputFileError(text, 'is not a directory', `${expected} for ${name}`);
    return text;
  });
}

// ------------------------------------------------------------------ declaring options

/**
 * Add `flags` with a parser. A default is given as text and parsed now (the same rules as the user's
 * text; a wrong built-in default fails at start-up, which every CLI test exercises), and shown in
 * --help as written.
 */
export function option<T>(cmd: Command, flags: string, description: string, parse: Parse<T>, defaultText?: string): Command {
  const o = new Option(flags, description);
  const name = o.long ?? o.short ?? flags;
  if (o.variadic) {
    o.argParser((text: string, prev: unknown) => [...((prev as T[] | undefined) ?? []), parse(text, name)]);
  } else {
    o.argParser((text: string) => parse(text, name));
  }
  if (defaultText !== undefined) o.default(parse(defaultText, name), defaultText);
  return cmd.addOption(o);
}

/**
 * A repeatable option that also takes comma lists (`--allow-host a --allow-host b,c` -> [a, b, c]); each
 * item goes through `item` (the identity by default: the library checks what a host or origin is).
 */
export function repeatableListOption<T = string>(cmd: Command, flags: string, description: string, item?: Parse<T>): Command {
  const o = new Option(flags, description);
  const name = o.long ?? flags;
  o.argParser((text: string, prev: unknown) => [
    ...((prev as T[] | undefined) ?? []),
    ...text
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '')
      .map((v) => (item ? item(v, name) : (v as T))),
  ]);
  return cmd.addOption(o);
}

/** `option` for a required option. */
export function requiredOption<T>(cmd: Command, flags: string, description: string, parse: Parse<T>): Command {
  const o = new Option(flags, description).makeOptionMandatory();
  const name = o.long ?? flags;
  o.argParser((text: string) => parse(text, name));
  return cmd.addOption(o);
}

/** A positional argument with a parser, e.g. `argument(cmd, '<file>', 'event file', existingFile(...))`. */
export function argument<T>(cmd: Command, name: string, description: string, parse: Parse<T>): Command {
  return cmd.addArgument(new Argument(name, description).argParser((text: string) => parse(text, name)));
}

// ------------------------------------------------------------------ shared option blocks

export const EVENT_FILE = 'an event file (AEDAT 2.0 / 3.1 / 4.0, DDD17 HDF5, Prophesee RAW EVT 2.0 / 2.1 / 3.0 or DAT, HDF5 event arrays)';

/** `--sensor <WxH>`: the sensor size of a file that does not state one (a size the file states wins). */
export function sensorOption(cmd: Command): Command {
  return option(cmd, '--sensor <WxH>', "sensor size for files that state none (Prophesee RAW / DAT, HDF5 event arrays); default: the file's header, its sensor generation or plugin, else the largest coordinates + 1", sizeArg);
}

export function strictOption(cmd: Command): Command {
  return cmd.option('--strict', 'fail on any corruption instead of skipping it with a warning');
}

/** `--max-gap <s>` in seconds (0 or Infinity: off); `help` says what the command does with a jump. */
export function maxGapOption(cmd: Command, help: string): Command {
  return option(cmd, '--max-gap <s>', `largest plausible time jump in seconds: ${help}; 0 = off`, numberArg({ min: 0, infinity: true, note: 'seconds; 0 or Infinity: off' }), '10');
}

/** µs of a parsed --max-gap (seconds). */
export const maxGapUs = (seconds: number): number => seconds * 1e6;

export function jsonOption(cmd: Command, help = 'print one JSON object on stdout'): Command {
  return cmd.option('--json', help);
}

export function seedOption(cmd: Command, help: string, defaultText?: string, required = false): Command {
  const parse = integerArg();
  return required ? requiredOption(cmd, '--seed <n>', help, parse) : option(cmd, '--seed <n>', help, parse, defaultText);
}

export const COMPRESSIONS = ['none', 'lz4', 'zstd'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

export function compressionOption(cmd: Command, help: string, defaultText = 'lz4'): Command {
  return option(cmd, '--compression <kind>', `${help}: ${COMPRESSIONS.join(', ')}`, oneOf(COMPRESSIONS), defaultText);
}

export function sceneOption(cmd: Command, help = 'scene preset', defaultText = 'urban'): Command {
  const scenes = Object.keys(SCENE_PRESETS) as ScenePresetName[];
  return option(cmd, '--scene <name>', `${help}: ${scenes.join(', ')}`, oneOf(scenes), defaultText);
}

// ------------------------------------------------------------------ denoising filters

const FILTER_NAMES: Record<string, FilterSpec['type']> = {
  baf: 'backgroundActivity',
  backgroundActivity: 'backgroundActivity',
  refractory: 'refractory',
  hot: 'hotPixel',
  hotPixel: 'hotPixel',
};

/**
 * One `--filter` item: `baf[:windowUs]`, `refractory[:periodUs]`, `hot[:learnUs[:k]]` (µs; absent numbers:
 * the filters' defaults). The same specs as a pipeline's `framing.filters`.
 */
export const filterArg: Parse<FilterSpec> = parser('baf[:windowUs], refractory[:periodUs] or hot[:learnUs[:k]] (µs, numbers > 0)', (text, name) => {
  const [head = '', ...rest] = text.split(':');
  const type = FILTER_NAMES[head.trim()];
  const nums = rest.map((v) => (v.trim() === '' ? NaN : Number(v)));
  const max = type === 'hotPixel' ? 2 : 1;
  const ok = (v: number, i: number) => Number.isFinite(v) && (v > 0 || (type === 'hotPixel' && i === 0 && v === 0));
  if (type === undefined || nums.length > max || !nums.every(ok)) refuse(name, filterArg.what, text);
  if (type === 'backgroundActivity') return nums[0] === undefined ? { type, windowUs: DEFAULT_BAF_WINDOW_US } : { type, windowUs: nums[0] };
  if (type === 'refractory') return nums[0] === undefined ? { type, periodUs: DEFAULT_REFRACTORY_US } : { type, periodUs: nums[0] };
  return { type, ...(nums[0] !== undefined ? { learnUs: nums[0] } : {}), ...(nums[1] !== undefined ? { k: nums[1] } : {}) };
});

/** `--filter <spec>` (repeatable, or a comma list): denoising filters applied in the order given. */
export function filterOption(cmd: Command): Command {
  return repeatableListOption(
    cmd,
    '--filter <spec>',
    `denoise the events first (repeatable or a comma list, applied in order): baf[:windowUs] (background activity, default ${DEFAULT_BAF_WINDOW_US}), refractory[:periodUs] (default ${DEFAULT_REFRACTORY_US}), hot[:learnUs[:k]] (hot pixels learned over the first ${DEFAULT_HOT_LEARN_US} µs, masked at >= ${DEFAULT_HOT_K} x the mean count; 0 = no learning)`,
    filterArg,
  );
}

/**
 * `--sensor <preset>` of the simulator: a simulated camera model (davis346, davis240, gen4). Not the
 * `--sensor <WxH>` of the commands that read files (`sensorOption`), which sizes a file that states none.
 */
/** What `--precision` says in every command's --help (keep it true: README "int8 engine"). */
export const PRECISION_HELP =
  "streaming precision of the onnx engine: fp32, or int8 (opt-in: the 3x3 convs over spikes as int8 QLinearConv, calibrated on recorded frames; kept because held-out MIoU of the demo and ddd17-sim models moved by at most 1 point)";

/** `--precision fp32 | int8` (the streaming engine's precision, src/snn/engines). */
export function precisionOption(cmd: Command, help = PRECISION_HELP): Command {
  return option(cmd, '--precision <p>', help, oneOf(['fp32', 'int8'] as const));
}

export function sensorPresetOption(cmd: Command, help: string): Command {
  return option(cmd, '--sensor <preset>', `${help}: ${SENSOR_PRESET_NAMES.join(', ')}`, oneOf(SENSOR_PRESET_NAMES));
}
