/**
 * fmt.Sprintf for template values: the verbs %v %s %d %q %x %X %t %f %e %g %c %o %b %U %%, flags `-+# 0`, widths
 * and precisions (also `*`). A verb that does not fit its operand prints as Go prints it: `%!d(string=x)`; a missing
 * operand `%!d(MISSING)`, leftovers `%!(EXTRA int=1)`, a trailing lone `%` `%!(NOVERB)`.
 */
import { formatFloat, formatValue, goExponent, goQuote, goTypeName, isInt, isMap, sortedEntries, type GoValue } from './values.js';

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width?: number;
  prec?: number;
  verb: string;
}

const badVerb = (verb: string, v: GoValue): string =>
  v === null || v === undefined ? `%!${verb}(<nil>)` : `%!${verb}(${goTypeName(v)}=${formatValue(v)})`;

function pad(s: string, spec: Spec, numeric: boolean): string {
  const width = spec.width ?? 0;
  const length = [...s].length;
  if (length >= width) return s;
  if (spec.minus) return s + ' '.repeat(width - length);
  if (spec.zero && numeric) {
    const sign = /^[+\- ]/.test(s) ? s[0]! : '';
    return sign + '0'.repeat(width - length) + s.slice(sign.length);
  }
  return ' '.repeat(width - length) + s;
}

const signed = (s: string, negative: boolean, spec: Spec): string => (negative ? '-' : spec.plus ? '+' : spec.space ? ' ' : '') + s;

function formatInteger(n: number, spec: Spec): string | undefined {
  const abs = Math.abs(n);
  const digits = (radix: number) => {
    let d = abs.toString(radix);
    if (spec.prec !== undefined) d = d.padStart(spec.prec, '0');
    return d;
  };
  switch (spec.verb) {
    case 'd':
    case 'v':
      return signed(digits(10), n < 0, spec);
    case 'b':
      return signed(digits(2), n < 0, spec);
    case 'o':
      return signed((spec.sharp ? '0' : '') + digits(8), n < 0, spec);
    case 'x':
      return signed((spec.sharp ? '0x' : '') + digits(16), n < 0, spec);
    case 'X':
      return signed((spec.sharp ? '0X' : '') + digits(16).toUpperCase(), n < 0, spec);
    case 'c':
      return String.fromCodePoint(n);
    case 'q':
      return goQuote(String.fromCodePoint(n), "'");
    case 'U':
      return `U+${n.toString(16).toUpperCase().padStart(4, '0')}`;
    default:
      return undefined;
  }
}

function formatFloatVerb(f: number, spec: Spec): string | undefined {
  const negative = f < 0 || Object.is(f, -0);
  const abs = Math.abs(f);
  switch (spec.verb) {
    case 'v':
    case 'g':
    case 'G': {
      const s = spec.prec === undefined ? formatFloat(abs) : goExponent(abs.toPrecision(spec.prec)).replace(/\.?0+(e|$)/, '$1');
      return signed(spec.verb === 'G' ? s.toUpperCase() : s, negative, spec);
    }
    case 'f':
    case 'F':
      return signed(abs.toFixed(spec.prec ?? 6), negative, spec);
    case 'e':
    case 'E': {
      const s = goExponent(abs.toExponential(spec.prec ?? 6));
      return signed(spec.verb === 'E' ? s.toUpperCase() : s, negative, spec);
    }
    default:
      return undefined;
  }
}

function formatString(s: string, spec: Spec): string | undefined {
  const cut = spec.prec === undefined ? s : [...s].slice(0, spec.prec).join('');
  switch (spec.verb) {
    case 'v':
      return spec.sharp ? goQuote(cut) : cut;
    case 's':
      return cut;
    case 'q':
      return spec.sharp && !cut.includes('`') && !/[\x00-\x08\x0b-\x1f\x7f]/.test(cut) ? `\`${cut}\`` : goQuote(cut);
    case 'x':
    case 'X': {
      const hex = Buffer.from(cut, 'utf8').toString('hex');
      return spec.verb === 'X' ? hex.toUpperCase() : hex;
    }
    default:
      return undefined;
  }
}

/** One operand under one verb; slices and maps apply the verb to each element, as fmt does. */
function formatOperand(v: GoValue, spec: Spec): string {
  if (Array.isArray(v) && spec.verb !== 'T') return `[${v.map((x) => formatOperand(x ?? null, spec)).join(' ')}]`;
  if (isMap(v)) {
    return `map[${sortedEntries(v).map(([k, x]) => `${formatOperand(k, spec)}:${formatOperand(x ?? null, spec)}`).join(' ')}]`;
  }
  let out: string | undefined;
  let numeric = false;
  if (spec.verb === 'T') out = goTypeName(v);
  else if (typeof v === 'string') out = formatString(v, spec);
  else if (typeof v === 'boolean') out = spec.verb === 't' || spec.verb === 'v' ? String(v) : undefined;
  else if (isInt(v)) {
    out = formatInteger(v, spec);
    numeric = true;
  } else if (typeof v === 'number') {
    out = formatFloatVerb(v, spec);
    numeric = true;
  } else if ((v === null || v === undefined) && spec.verb === 'v') out = '<nil>';
  else if (spec.verb === 'v') out = formatValue(v);
  return out === undefined ? badVerb(spec.verb, v) : pad(out, spec, numeric);
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: GoValue[]): string {
  let out = '';
  let argIndex = 0;
  let i = 0;
  const nextArg = (): { ok: boolean; value?: GoValue } =>
    argIndex < args.length ? { ok: true, value: args[argIndex++] } : { ok: false };
  while (i < format.length) {
    const percent = format.indexOf('%', i);
    if (percent === -1) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, percent);
    i = percent + 1;
    const spec: Spec = { minus: false, plus: false, sharp: false, space: false, zero: false, verb: '' };
    for (; i < format.length; i++) {
      const c = format[i];
      if (c === '-') spec.minus = true;
      else if (c === '+') spec.plus = true;
      else if (c === '#') spec.sharp = true;
      else if (c === ' ') spec.space = true;
      else if (c === '0') spec.zero = !spec.minus;
      else break;
    }
    const readNumber = (): number | undefined => {
      if (format[i] === '*') {
        i++;
        const a = nextArg();
        return a.ok && isInt(a.value) ? a.value : undefined;
      }
      const m = /^\d+/.exec(format.slice(i));
      if (!m) return undefined;
      i += m[0].length;
      return parseInt(m[0], 10);
    };
    spec.width = readNumber();
    if (spec.width !== undefined && spec.width < 0) {
      spec.minus = true;
      spec.width = -spec.width;
    }
    if (format[i] === '.') {
      i++;
      spec.prec = readNumber() ?? 0;
    }
    if (i >= format.length) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    spec.verb = verb;
    const arg = nextArg();
    out += arg.ok ? formatOperand(arg.value, spec) : `%!${verb}(MISSING)`;
  }
  if (argIndex < args.length) {
    const extra = args.slice(argIndex).map((a) => (a === null || a === undefined ? '<nil>' : `${goTypeName(a)}=${formatValue(a)}`));
    out += `%!(EXTRA ${extra.join(', ')})`;
  }
  return out;
}
