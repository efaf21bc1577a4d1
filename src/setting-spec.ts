/**
 * How a setting is declared — the daemon's own (src/options.ts) and yours (src/settings.ts) alike
 * — and the one grammar every value goes through, whether it came from a flag, the environment or
 * the environment file. A declaration gives the type, the default, the range or the choices, the
 * help line, whether it is secret and whether a reload (SIGHUP) applies it.
 */

interface Common {
  /** One line for --help and the environment-file template. */
  help: string;
  /** The value's placeholder in --help: `--url <url>`. */
  hint?: string;
  /** What --help shows as the default when `default` alone would not say it ("$LOGS_DIRECTORY, else /tmp"). */
  defaultText?: string;
  /** Never logged, never shown in --help or a reload's "changed" line; set it in the environment file or as a credential. */
  secret?: boolean;
  /** True: a reload (SIGHUP, `systemctl reload`) applies a new value; false (the default): after a restart. */
  reload?: boolean;
}

/** Text. `check` returns what is wrong with a value (for the error line), or null. */
export interface StringSetting extends Common {
  type: "string";
  default?: string;
  /** What a valid value looks like, for the error line ("a URL", "a folder path"). */
  accepts?: string;
  /** Takes an empty value (by default an empty string is refused: an empty path or name is a mistake). */
  allowEmpty?: boolean;
  /** Returns the error line's reason for a bad value ("expected a URL", "unknown field %(x)s"), or null when it is fine. */
  check?: (value: string) => string | null;
}

/** A decimal number in [min, max]; whole numbers only with `integer`. No sign, exponent or hex. */
export interface NumberSetting extends Common {
  type: "number";
  default?: number;
  min: number;
  max: number;
  /** True when `min` itself is refused (a timeout of 0 s). */
  aboveMin?: boolean;
  integer?: boolean;
  /** What the value is, for the error line: "a number of seconds", "a whole number of bytes". */
  what?: string;
}

/** On or off: a bare `--flag`; in the environment 1/true/yes/on or 0/false/no/off. */
export interface BooleanSetting extends Common {
  type: "boolean";
  default?: boolean;
}

/** One of a few words. */
export interface ChoiceSetting<C extends string = string> extends Common {
  type: "choice";
  choices: readonly C[];
  default?: C;
}

export type SettingSpec = StringSetting | NumberSetting | BooleanSetting | ChoiceSetting;
export type SettingTable = Readonly<Record<string, SettingSpec>>;

/** The TypeScript type of one setting's value: a setting without a default may be undefined (booleans are false). */
export type SettingValue<S extends SettingSpec> = S extends BooleanSetting
  ? boolean
  : S extends { default: infer D }
    ? S extends ChoiceSetting<infer C>
      ? C
      : D extends string
        ? string
        : number
    : (S extends ChoiceSetting<infer C> ? C : S extends StringSetting ? string : number) | undefined;

/** The values of a whole table, as `ctx.settings` holds them. */
export type SettingValues<T extends SettingTable> = { readonly [K in keyof T]: SettingValue<T[K]> };

/**
 * Declares your settings (src/settings.ts). Returns the table unchanged; its only job is to keep
 * the literal types, so that `ctx.settings.url` is a `string` and `ctx.settings.mode` is
 * `"fast" | "slow"` to the compiler.
 */
export function defineSettings<const T extends Record<string, SettingSpec>>(table: T): T {
  return table;
}

/** Plain decimal digits, with an optional fraction: `5`, `0.5`, `.5`, `5.`. */
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)$/;
const WHOLE = /^\d+$/;
const TRUE_WORDS = new Set(["1", "true", "yes", "on"]);
const FALSE_WORDS = new Set(["0", "false", "no", "off", ""]);

/**
 * The one number grammar of every numeric setting: decimal digits (a fraction only where the
 * rule allows one), surrounding whitespace ignored, inside the rule's range. No sign, no `0x`,
 * no exponent, no `Infinity`, no inner spaces. Returns undefined for anything else.
 */
export function parseNumber(rule: Pick<NumberSetting, "min" | "max" | "aboveMin" | "integer">, text: string): number | undefined {
  const trimmed = text.trim();
  if (!(rule.integer ? WHOLE : DECIMAL).test(trimmed)) return undefined;
  const n = Number(trimmed);
  if (!Number.isFinite(n) || n < rule.min || (rule.aboveMin === true && n === rule.min) || n > rule.max) return undefined;
  return n;
}

/** What a valid value looks like, for the error line: "a number of seconds from 0 to 2000000". */
export function acceptedText(spec: SettingSpec): string {
  switch (spec.type) {
    case "number": {
      const what = spec.what ?? (spec.integer ? "a whole number" : "a number");
      return spec.aboveMin ? `${what} over ${spec.min}, up to ${spec.max}` : `${what} from ${spec.min} to ${spec.max}`;
    }
    case "choice":
      return spec.choices.length === 2 ? `${spec.choices[0]} or ${spec.choices[1]}` : `one of ${spec.choices.join(", ")}`;
    case "boolean":
      return "1/true/yes/on or 0/false/no/off";
    case "string":
      return spec.accepts ?? (spec.allowEmpty ? "any text" : "a non-empty value");
  }
}

/** A value that did not parse, with the reason for the error line: "expected a number from 0 to 9". */
export class BadValue {
  constructor(readonly reason: string) {}
}

/**
 * Parses one setting's text (a flag's value, an environment variable) by its declaration.
 * Booleans take `true` for a bare flag. Returns the value, or a BadValue saying what was expected.
 */
export function parseSettingText(spec: SettingSpec, text: string | true): string | number | boolean | BadValue {
  if (spec.type === "boolean") {
    if (text === true) return true;
    const word = text.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
    return new BadValue(`expected ${acceptedText(spec)}`);
  }
  if (text === true) return new BadValue(`expected ${acceptedText(spec)}`);
  switch (spec.type) {
    case "number":
      return parseNumber(spec, text) ?? new BadValue(`expected ${acceptedText(spec)}`);
    case "choice":
      return (spec.choices as readonly string[]).includes(text) ? text : new BadValue(`expected ${acceptedText(spec)}`);
    case "string": {
      if (text.trim() === "" && !spec.allowEmpty) return new BadValue(`expected ${acceptedText(spec)}`);
      const problem = spec.check?.(text) ?? null;
      return problem === null ? text : new BadValue(problem);
    }
  }
}
