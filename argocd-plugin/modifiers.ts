/**
 * The modifiers a placeholder may chain after `|`, as AVP 1.18 defines them: `base64encode`, `base64decode`,
 * `jsonPath TEMPLATE`, `jsonParse`, `yamlParse`, `indent N`, `sha256sum`. (`default VALUE`, coffer's own, is
 * handled by the placeholder engine because it acts on a missing value, not on a value.)
 *
 * Their error messages describe the problem and never quote the value: the value is a secret.
 */
import { createHash } from 'node:crypto';
import { executeTemplate, JsonPathError } from './jsonpath.js';
import { parseYamlValue, UnresolvedAliasError } from './input.js';
import { type Value, fromParsed, goTypeName } from './values.js';

export class ModifierError extends Error {}

type Modifier = (args: string[], input: Value) => Value;

function noArgs(args: string[]): void {
  if (args.length > 0) throw new ModifierError('invalid parameters');
}

function text(input: Value, expected = ''): string {
  if (typeof input !== 'string') throw new ModifierError(`invalid datatype ${goTypeName(input)}${expected}`);
  return input;
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Go's base64.StdEncoding.DecodeString: padding required, line breaks ignored; null when not base64. */
export function decodeStdBase64(s: string): Buffer | null {
  const compact = s.replace(/[\r\n]/g, '');
  return STRICT_BASE64.test(compact) ? Buffer.from(compact, 'base64') : null;
}

function parseJson(s: string): Value {
  try {
    return fromParsed(JSON.parse(s));
  } catch {
    // JSON.parse quotes the input in its message: never let that reach an error (the input is a secret).
    throw new ModifierError('the value is not valid JSON');
  }
}

export const MODIFIERS: Record<string, Modifier> = {
  base64encode(args, input) {
    noArgs(args);
    return Buffer.from(text(input), 'utf8').toString('base64');
  },
  base64decode(args, input) {
    noArgs(args);
    const decoded = decodeStdBase64(text(input));
    if (!decoded) throw new ModifierError('the value is not valid base64');
    return decoded.toString('utf8');
  },
  jsonPath(args, input) {
    if (args.length < 1) throw new ModifierError('invalid parameters');
    const data = typeof input === 'string' ? parseJson(input) : input;
    try {
      return executeTemplate(args.join(' '), data);
    } catch (err) {
      if (err instanceof JsonPathError) throw new ModifierError(err.message);
      throw err;
    }
  },
  jsonParse(args, input) {
    noArgs(args);
    return parseJson(text(input));
  },
  yamlParse(args, input) {
    noArgs(args);
    try {
      return parseYamlValue(text(input));
    } catch (err) {
      // The parser's reason for an unknown alias, without the alias's name (it is text of the secret).
      throw new ModifierError(err instanceof UnresolvedAliasError ? `the value is not valid YAML: ${UnresolvedAliasError.REASON}` : 'the value is not valid YAML');
    }
  },
  indent(args, input) {
    if (args.length !== 1) throw new ModifierError('invalid parameters');
    if (!/^[+-]?\d+$/.test(args[0])) throw new ModifierError('invalid indentation level');
    const pad = ' '.repeat(Math.max(0, Number(args[0])));
    const lines = text(input).split('\n');
    // AVP's layout: the first line trimmed, the others trimmed and indented, empty lines dropped.
    let out = lines[0].trim();
    if (lines.length > 1) out += '\n';
    for (let i = 1; i < lines.length; i++) {
      if (lines[i].length === 0) continue;
      out += pad + lines[i].trim();
      if (i < lines.length - 1) out += '\n';
    }
    return out;
  },
  sha256sum(args, input) {
    noArgs(args);
    return createHash('sha256').update(text(input, ', expected string'), 'utf8').digest('hex');
  },
};
