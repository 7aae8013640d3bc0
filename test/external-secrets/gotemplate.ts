/**
 * The subset of Go's text/template that ESO's webhook provider renders (url, headers, body, result.jsonPath),
 * implemented from the text/template documentation because ESO cannot run here: field chains on the data
 * (`.remoteRef.key`, `$.auth.token`, `.`), `index`, `with`/`if` … `else` … `end`, and `{{-`/`-}}` trimming.
 *
 * ESO's data is map[string]map[string]string. Go semantics kept on purpose, since the shipped templates rely on
 * them: a missing map key is an "invalid" value that prints as `<no value>` and is false in `with`/`if`;
 * `index` of a missing key gives the zero value ""; `index` with an invalid key argument is an error.
 */

type Value = string | Record<string, unknown> | undefined; // undefined = Go's invalid reflect.Value

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; expr: string }
  | { kind: 'block'; type: 'with' | 'if'; expr: string; then: Node[]; otherwise: Node[] };

function tokenize(template: string): Array<{ text: string } | { action: string }> {
  const out: Array<{ text: string } | { action: string }> = [];
  let pos = 0;
  while (pos < template.length) {
    const open = template.indexOf('{{', pos);
    if (open === -1) {
      out.push({ text: template.slice(pos) });
      break;
    }
    let text = template.slice(pos, open);
    const close = template.indexOf('}}', open + 2);
    if (close === -1) throw new Error('template: unclosed action');
    let action = template.slice(open + 2, close);
    if (action.startsWith('- ')) {
      text = text.replace(/\s+$/, '');
      action = action.slice(1);
    }
    let next = close + 2;
    if (action.endsWith(' -')) {
      action = action.slice(0, -1);
      const rest = template.slice(next);
      next += rest.length - rest.replace(/^\s+/, '').length;
    }
    if (text) out.push({ text });
    out.push({ action: action.trim() });
    pos = next;
  }
  return out;
}

function parse(template: string): Node[] {
  const tokens = tokenize(template);
  let i = 0;
  const list = (stopAt: string[]): { nodes: Node[]; stop: string | null } => {
    const nodes: Node[] = [];
    while (i < tokens.length) {
      const token = tokens[i++]!;
      if ('text' in token) {
        nodes.push({ kind: 'text', text: token.text });
        continue;
      }
      const [word] = token.action.split(/\s+/, 1);
      if (stopAt.includes(word!)) return { nodes, stop: word! };
      if (word === 'with' || word === 'if') {
        const expr = token.action.slice(word.length).trim();
        const then = list(['else', 'end']);
        const otherwise = then.stop === 'else' ? list(['end']).nodes : [];
        nodes.push({ kind: 'block', type: word, expr, then: then.nodes, otherwise });
      } else if (word === 'end' || word === 'else') {
        throw new Error(`template: unexpected {{${word}}}`);
      } else {
        nodes.push({ kind: 'action', expr: token.action });
      }
    }
    if (stopAt.length) throw new Error('template: missing {{end}}');
    return { nodes, stop: null };
  };
  return list([]).nodes;
}

function field(value: Value, name: string): Value {
  if (value === undefined || typeof value === 'string') return undefined;
  return Object.hasOwn(value, name) ? (value[name] as Value) : undefined;
}

function term(text: string, dot: Value, root: Value): Value {
  if (/^"(?:[^"\\]|\\.)*"$/.test(text)) return JSON.parse(text) as string;
  if (text === '.') return dot;
  const m = /^(\$|\.)?((?:\.?[A-Za-z_][A-Za-z0-9_]*)*)$/.exec(text);
  if (!m || (!m[1] && !text.startsWith('.'))) throw new Error(`template: unsupported term ${text}`);
  let value: Value = m[1] === '$' ? root : dot;
  const chain = text.replace(/^\$/, '').split('.').filter(Boolean);
  for (const name of chain) value = field(value, name);
  return value;
}

function evaluate(expr: string, dot: Value, root: Value): Value {
  const words = expr.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? [];
  if (words[0] === 'index') {
    let value = term(words[1]!, dot, root);
    for (const keyWord of words.slice(2)) {
      const key = term(keyWord, dot, root);
      if (key === undefined) throw new Error('template: error calling index: value is nil; should be of type string');
      if (typeof key !== 'string' || value === undefined || typeof value === 'string') throw new Error('template: cannot index');
      value = Object.hasOwn(value, key) ? (value[key] as Value) : ''; // Go: the map's zero value
    }
    return value;
  }
  if (words.length !== 1) throw new Error(`template: unsupported pipeline ${expr}`);
  return term(words[0]!, dot, root);
}

const truthy = (v: Value) => v !== undefined && v !== '' && (typeof v === 'string' || Object.keys(v).length > 0);

function run(nodes: Node[], dot: Value, root: Value): string {
  let out = '';
  for (const node of nodes) {
    if (node.kind === 'text') out += node.text;
    else if (node.kind === 'action') {
      const v = evaluate(node.expr, dot, root);
      if (v !== undefined && typeof v !== 'string') throw new Error('template: printing a map is not supported here');
      out += v ?? '<no value>';
    } else {
      const v = evaluate(node.expr, dot, root);
      if (truthy(v)) out += run(node.then, node.type === 'with' ? v : dot, root);
      else out += run(node.otherwise, dot, root);
    }
  }
  return out;
}

/** Renders like Go's template.Execute with ESO's data (map of maps of strings). */
export function renderGoTemplate(template: string, data: Record<string, unknown>): string {
  if (template === '') return '';
  return run(parse(template), data as Value, data as Value);
}
