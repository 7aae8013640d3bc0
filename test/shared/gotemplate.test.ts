/**
 * The shared Go text/template interpreter, case by case against the semantics the Go package documentation states
 * (pkg.go.dev/text/template and fmt). Each non-obvious expectation names the rule it checks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Template, TemplateError, TemplateExecError, TemplateParseError, type TemplateOptions } from '../../src/shared/gotemplate/index.js';

const render = (src: string, data: unknown = {}, options?: TemplateOptions) => Template.parse('t', src, options).executeSync(data);

type Case = [template: string, data: unknown, expected: string];

function table(cases: Case[]): void {
  for (const [src, data, expected] of cases) assert.equal(render(src, data), expected, src);
}

describe('gotemplate: the Go documentation examples', () => {
  it('renders each of the package documentation\'s "output" examples the same', () => {
    // The docs list these pipelines as all printing the quoted word "output".
    const examples = [
      '{{"\\"output\\""}}',
      '{{`"output"`}}',
      '{{printf "%q" "output"}}',
      '{{"output" | printf "%q"}}',
      '{{printf "%q" (print "out" "put")}}',
      '{{"put" | printf "%s%s" "out" | printf "%q"}}',
      '{{"output" | printf "%s" | printf "%q"}}',
      '{{with "output"}}{{printf "%q" .}}{{end}}',
      '{{with $x := "output" | printf "%q"}}{{$x}}{{end}}',
      '{{with $x := "output"}}{{printf "%q" $x}}{{end}}',
      '{{with $x := "output"}}{{$x | printf "%q"}}{{end}}',
    ];
    for (const src of examples) assert.equal(render(src), '"output"', src);
  });

  it('trims whitespace around {{- and -}}', () => {
    table([
      ['{{23 -}} < {{- 45}}', {}, '23<45'], // the docs' example
      ['a \n\t {{- "b" -}} \r\n c', {}, 'abc'], // space, tab, CR and newline are trimmed
      ['{{-3}}', {}, '-3'], // without a following space the hyphen is part of the number
      ['x {{- /* comment */ -}} y', {}, 'xy'], // a comment may carry trim markers
    ]);
  });
});

describe('gotemplate: data, fields and variables', () => {
  const data = { a: { b: { c: 'deep' } }, s: 'str', n: 0, list: ['x', 'y'], empty: [], m: { k2: 2, k1: 1, k10: 10 }, nil: null };
  it('evaluates field chains, variables and $', () => {
    table([
      ['{{.a.b.c}}', data, 'deep'],
      ['{{$.s}}', data, 'str'], // $ is the data passed to Execute
      ['{{with .a}}{{.b.c}}/{{$.s}}{{end}}', data, 'deep/str'], // $ stays the root inside with
      ['{{$x := .a.b}}{{$x.c}}', data, 'deep'], // field chain on a variable
      ['{{(.a).b.c}}', data, 'deep'], // field chain on a parenthesised pipeline
      ['{{.missing}}', data, '<no value>'], // a missing map key prints <no value>
      ['{{.missing.deeper}}', data, '<no value>'], // a field of a missing value is missing too
      ['{{.nil}}', data, '<no value>'], // a nil interface prints as <no value> at the top level
      ['{{.list}} {{.m}}', data, '[x y] map[k1:1 k10:10 k2:2]'], // fmt's %v: maps in sorted key order
      ['{{print .nil}}', data, '<nil>'], // but a nil argument to print is <nil>
      ['{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}', {}, '2'], // = assigns the outer variable
      ['{{$x := 1}}{{if true}}{{$x := 2}}{{end}}{{$x}}', {}, '1'], // := inside if declares a new one, gone at {{end}}
    ]);
  });

  it('evaluates literals as Go does', () => {
    table([
      ['{{"a\\tb\\x41\\u00e9\\101"}}', {}, 'a\tbAéA'], // Go string escapes: \t, \xHH, \uHHHH, octal
      ['{{`raw\\n`}}', {}, 'raw\\n'], // raw strings keep backslashes
      ["{{'a'}} {{'\\n'}}", {}, '97 10'], // character constants are ints
      ['{{0x1F}} {{0o17}} {{017}} {{0b101}} {{1_000}}', {}, '31 15 15 5 1000'], // Go's integer literal forms
      ['{{1.5}} {{1e3}} {{0.00001}} {{1e21}}', {}, '1.5 1000 1e-05 1e+21'], // %v of float64: %g with two-digit exponents
      ['{{true}} {{false}}', {}, 'true false'],
    ]);
  });
});

describe('gotemplate: control structures', () => {
  it('follows Go truthiness in if and with', () => {
    // The empty values are false, 0, any nil pointer or interface value, and any array, slice, map, or string of length zero.
    const falsy = [false, 0, null, '', [], {}];
    for (const v of falsy) assert.equal(render('{{if .v}}T{{else}}F{{end}}', { v }), 'F', JSON.stringify(v));
    for (const v of [true, 1, -1, 'x', [0], { a: 0 }]) assert.equal(render('{{if .v}}T{{else}}F{{end}}', { v }), 'T', JSON.stringify(v));
    table([
      ['{{if .missing}}T{{else}}F{{end}}', {}, 'F'],
      ['{{if eq .a 1}}one{{else if eq .a 2}}two{{else}}many{{end}}', { a: 2 }, 'two'], // else if: one {{end}}
      ['{{with .x}}x={{.}}{{else with .y}}y={{.}}{{else}}none{{end}}', { y: 'Y' }, 'y=Y'], // else with
      ['{{with .x}}{{.}}{{else}}dot={{.x}}{{end}}', { x: '' }, 'dot='], // in with's else, dot is unchanged
    ]);
  });

  it('ranges over slices, maps in sorted key order and integers, with else, break and continue', () => {
    table([
      ['{{range .}}[{{.}}]{{end}}', ['a', 'b'], '[a][b]'],
      ['{{range $i, $v := .}}{{$i}}={{$v}} {{end}}', ['a', 'b'], '0=a 1=b '],
      ['{{range $v := .}}{{$v}}{{end}}', ['a', 'b'], 'ab'], // one variable: the element
      ['{{range $k, $v := .}}{{$k}}={{$v}} {{end}}', { b: 2, a: 1, c: 3 }, 'a=1 b=2 c=3 '], // maps in sorted key order
      ['{{range .}}x{{else}}empty{{end}}', [], 'empty'],
      ['{{range .missing}}x{{else}}none{{end}}', {}, 'none'], // a nil value ranges zero times
      ['{{range 3}}{{.}}{{end}}', {}, '012'], // Go 1.22: range over an integer
      ['{{range .}}{{if eq . 2}}{{continue}}{{end}}{{if eq . 4}}{{break}}{{end}}{{.}}{{end}}', [1, 2, 3, 4, 5], '13'],
      ['{{$x := 0}}{{range .}}{{$x = .}}{{end}}{{$x}}', [1, 2, 3], '3'],
    ]);
  });

  it('runs define, template and block, with no inherited variables', () => {
    table([
      ['{{define "T"}}<{{.}}>{{end}}{{template "T" .a}}{{template "T" "lit"}}', { a: 'A' }, '<A><lit>'],
      ['{{define "T"}}{{$}}{{end}}{{template "T" 5}}', {}, '5'], // $ in a called template is its dot
      ['{{define "T"}}[{{.}}]{{end}}{{template "T"}}', {}, '[<no value>]'], // no pipeline: dot is missing
      ['{{block "B" .}}default {{.}}{{end}}', 'x', 'default x'],
    ]);
    // Two non-empty definitions of one name in one source conflict; an empty one never replaces a body.
    assert.throws(() => Template.parse('t', '{{define "B"}}1{{end}}{{block "B" .}}2{{end}}'), { message: 'template: t:1: template: multiple definition of template "B"' });
    assert.equal(render('{{define "B"}}set{{end}}{{define "B"}} {{end}}{{template "B"}}'), 'set');
    assert.equal(Template.parse('t', '{{define "T"}}{{.}}!{{end}}').executeSync('hi', 'T'), 'hi!');
    // A template invocation does not inherit variables: $x is undeclared inside T.
    assert.throws(() => Template.parse('t', '{{$x := 1}}{{define "T"}}{{$x}}{{end}}'), /template: t:1: undefined variable "\$x"/);
  });
});

describe('gotemplate: builtin functions', () => {
  it('computes and, or, not, len, index, slice and comparisons', () => {
    table([
      ['{{and 1 0 .boom}} {{and 1 "x"}} {{or 0 "" "z"}} {{or 0 ""}}', {}, '0 x z '], // first deciding argument, else the last
      ['{{and .a (index .a 0)}}', { a: [] }, '[]'], // and stops before index would fail (Go 1.18)
      ['{{not 0}} {{not "x"}}', {}, 'true false'],
      ['{{len "héllo"}} {{len .l}} {{len .m}}', { l: [1, 2], m: { a: 1 } }, '6 2 1'], // len of a string counts bytes
      ['{{index .l 1}} {{index .m "a" 0}} {{index "abc" 1}}', { l: ['x', 'y'], m: { a: ['z'] } }, 'y z 98'], // index of a string is a byte
      ['{{index .m "nope"}}', { m: {} }, '<no value>'], // a missing key gives the zero value, nil here
      ['{{slice "abcdef" 1 3}} {{slice .l 1}} {{slice .l}}', { l: [1, 2, 3] }, 'bc [2 3] [1 2 3]'],
      ['{{eq 1 1}} {{eq "a" "b" "a"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt "b" "a"}} {{ge 1 2}}', {}, 'true true true true true true false'],
      ['{{eq .missing "x"}}', {}, 'false'], // comparing with a missing value is false, not an error
    ]);
  });

  it('prints with print, println, html, js and urlquery', () => {
    table([
      ['{{print 1 2 "a" "b" 3}}', {}, '1 2ab3'], // Sprint: spaces only between two non-string operands
      ['{{println 1 "a"}}', {}, '1 a\n'], // Sprintln: always spaces, then a newline
      ['{{html "<a href=\'x\'>&\\"</a>"}}', {}, '&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;'],
      ['{{js "it\'s \\"<b>\\" & =\\n"}}', {}, 'it\\\'s \\"\\u003Cb\\u003E\\" \\u0026 \\u003D\\u000A'],
      ['{{urlquery "a b&c=d/é"}}', {}, 'a+b%26c%3Dd%2F%C3%A9'], // QueryEscape: space as +, UTF-8 bytes upper-case hex
      ['{{"x" | html}}', {}, 'x'],
    ]);
  });

  it('formats with printf verbs, widths and Go\'s error forms', () => {
    table([
      ['{{printf "%s|%5s|%-5s|%.2s" "ab" "ab" "ab" "abc"}}', {}, 'ab|   ab|ab   |ab'],
      ['{{printf "%d|%5d|%-5d|%05d|%+d" 42 42 42 -42 42}}', {}, '42|   42|42   |-0042|+42'],
      ['{{printf "%v %v %v %v" 1 "s" true .m}}', { m: { b: [1], a: 'x' } }, '1 s true map[a:x b:[1]]'],
      ['{{printf "%q %q" "a\\"b\\n" 65}}', {}, '"a\\"b\\n" \'A\''], // %q of an int is a quoted character
      ['{{printf "%x %X %x %o %b %c" "hi" 255 -255 8 5 65}}', {}, '6869 FF -ff 10 101 A'],
      ['{{printf "%t %f %.2f %e %g" true 3.5 3.14159 1234.5 0.5}}', {}, 'true 3.500000 3.14 1.234500e+03 0.5'],
      ['{{printf "%d%%" 7}}', {}, '7%'],
      ['{{printf "%z" 1}}', {}, '%!z(int=1)'], // an unknown verb
      ['{{printf "%d" "x"}}', {}, '%!d(string=x)'], // a verb that does not fit its operand
      ['{{printf "%s" 5}}', {}, '%!s(int=5)'],
      ['{{printf "%d %s" 1}}', {}, '1 %!s(MISSING)'],
      ['{{printf "%d" 1 "x"}}', {}, '1%!(EXTRA string=x)'],
      ['{{printf "%"}}', {}, '%!(NOVERB)'],
      ['{{printf "%s" .missing}}', {}, '%!s(<nil>)'], // a missing value passed to printf is nil
      ['{{printf "%*d" 4 7}}', {}, '   7'], // width from the arguments
      ['{{printf "%s" .l}}', { l: ['a', 'b'] }, '[a b]'], // verbs apply to each element of a slice
    ]);
  });
});

describe('gotemplate: errors', () => {
  const parseError = (src: string, message: string) => {
    assert.throws(() => Template.parse('t', src), (err: unknown) => {
      assert.ok(err instanceof TemplateParseError, src);
      assert.equal(err.message, message, src);
      return true;
    });
  };

  it('reports parse errors as "template: NAME:LINE: ..."', () => {
    parseError('{{.a', 'template: t:1: unclosed action');
    parseError('line1\nline2 {{nosuch 1}}', 'template: t:2: function "nosuch" not defined'); // unknown functions fail at parse
    parseError('{{$x}}', 'template: t:1: undefined variable "$x"');
    parseError('{{if .a}}\nx', 'template: t:2: unexpected EOF');
    parseError('{{end}}', 'template: t:1: unexpected {{end}}');
    parseError('{{else}}', 'template: t:1: unexpected {{else}}');
    parseError('{{break}}', 'template: t:1: {{break}} outside {{range}}');
    parseError('{{"\\q"}}', 'template: t:1: invalid syntax');
    parseError('{{"abc}}', 'template: t:1: unterminated quoted string');
    parseError('{{ @ }}', "template: t:1: unrecognized character in action: U+0040 '@'");
    parseError('{{ }}', 'template: t:1: missing value for command');
    parseError('{{(1}}', 'template: t:1: unclosed left paren');
    parseError('{{1 | 2}}', 'template: t:1: non executable command in pipeline stage 2');
    parseError('{{/* x */ y}}', 'template: t:1: comment ends before closing delimiter');
    parseError('{{/* x', 'template: t:1: unclosed comment');
    parseError('{{3x}}', 'template: t:1: bad number syntax: "3x"');
    parseError(`{{${'('.repeat(5000)}1${')'.repeat(5000)}}}`, 'template: t:1: max expression depth exceeded'); // bounded nesting
    parseError('{{if 1}}'.repeat(5000), 'template: t:1: max expression depth exceeded');
    parseError('{{call .f}}', 'template: t:1: function "call" is not supported: template data holds no function values to call');
  });

  const execError = (src: string, data: unknown, message: string, options?: TemplateOptions) => {
    assert.throws(() => Template.parse('t', src, options).executeSync(data), (err: unknown) => {
      assert.ok(err instanceof TemplateExecError, src);
      assert.equal(err.message, message, src);
      return true;
    });
  };

  it('reports execution errors as "template: NAME:LINE:COL: executing ..."', () => {
    // The column counts from 0 at the start of the line, as Go's ErrorContext does.
    execError('{{.s.x}}', { s: 'str' }, 'template: t:1:2: executing "t" at <.s.x>: can\'t evaluate field x in type string');
    execError('a\nbc {{index .l 5}}', { l: [] }, 'template: t:2:5: executing "t" at <index .l 5>: error calling index: index out of range: 5');
    execError('{{len 3}}', {}, 'template: t:1:2: executing "t" at <len 3>: error calling len: len of type int');
    execError('{{eq "a" 1}}', {}, 'template: t:1:2: executing "t" at <eq "a" 1>: error calling eq: incompatible types for comparison');
    execError('{{nil}}', {}, 'template: t:1:2: executing "t" at <nil>: nil is not a command');
    execError('{{printf}}', {}, 'template: t:1:2: executing "t" at <printf>: wrong number of args for printf: want at least 1 got 0');
    execError('{{template "nope"}}', {}, 'template: t:1:11: executing "t" at <{{template "nope"}}>: template "nope" not defined');
    execError('{{.a 1}}', { a: 'x' }, 'template: t:1:2: executing "t" at <.a>: a is not a method but has arguments');
    execError('{{range .}}{{end}}', 'str', 'template: t:1:8: executing "t" at <.>: range can\'t iterate over str');
    execError('{{define "T"}}\n  {{.x.y}}{{end}}{{template "T" .}}', { x: null }, 'template: t:2:4: executing "T" at <.x.y>: nil pointer evaluating interface {}.y');
    // Go cuts the action shown at 20 bytes.
    execError('{{index .l "a-very-long-key-name"}}', { l: [] }, 'template: t:1:2: executing "t" at <index .l "a-very-lon...>: error calling index: cannot index slice/array with type string');
  });

  it('fails on a missing key with errorOnMissingKey (Go\'s missingkey=error)', () => {
    const strict = { errorOnMissingKey: true };
    execError('{{.a.b}}', { a: {} }, 'template: t:1:2: executing "t" at <.a.b>: map has no entry for key "b"', strict);
    assert.equal(render('{{.a.b}}', { a: { b: 'ok' } }, strict), 'ok');
    assert.equal(render('{{.a.b}}', { a: {} }), '<no value>'); // the default: print <no value>
  });

  it('never mistakes a function\'s own error for output', () => {
    const funcs = { boom: () => { throw new Error('went wrong'); } };
    execError('{{boom}}', {}, 'template: t:1:2: executing "t" at <boom>: error calling boom: went wrong', { funcs });
  });
});

describe('gotemplate: caller functions', () => {
  it('passes arguments and the piped value last, missing values as null', () => {
    const seen: unknown[][] = [];
    const funcs = { f: (...args: unknown[]) => (seen.push(args), args.length) };
    assert.equal(render('{{f 1 "a" .x}}|{{"p" | f 2}}', {}, { funcs }), '3|2');
    assert.deepEqual(seen, [[1, 'a', null], [2, 'p']]);
  });

  it('awaits async functions in order, and refuses them in executeSync', async () => {
    const order: string[] = [];
    const secret = async (path: string) => {
      order.push(`start ${path}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      order.push(`end ${path}`);
      return { data: { password: `pw-${path}` } };
    };
    const t = Template.parse('agent', '{{with secret "a"}}{{.data.password}}{{end}},{{(secret "b").data.password | printf "%q"}}', { funcs: { secret } });
    assert.equal(await t.execute({}), 'pw-a,"pw-b"');
    assert.deepEqual(order, ['start a', 'end a', 'start b', 'end b']); // one call at a time, in template order
    assert.throws(() => t.executeSync({}), /a function returned a Promise; use execute\(\)/);
  });

  it('reports a rejected async function with its position', async () => {
    const funcs = { secret: async () => Promise.reject(new Error('permission denied')) };
    await assert.rejects(Template.parse('agent', 'x\n{{ secret "a" }}', { funcs }).execute({}), {
      message: 'template: agent:2:3: executing "agent" at <secret "a">: error calling secret: permission denied',
    });
  });

  it('names the template and the function when a template calls an unknown function', () => {
    assert.throws(() => Template.parse('db-creds', '{{ secret "x" }}'), { message: 'template: db-creds:1: function "secret" not defined' });
  });

  it('renders with custom delimiters', () => {
    assert.equal(render('[[ .a ]] {{.a}} [[- " x" -]] !', { a: 1 }, { delims: { left: '[[', right: ']]' } }), '1 {{.a}} x!');
  });
});

describe('gotemplate: limits', () => {
  it('stops output at maxOutputBytes', () => {
    assert.throws(() => render('{{range 100}}0123456789{{end}}', {}, { limits: { maxOutputBytes: 500 } }), /template output exceeds the limit of 500 bytes/);
    assert.equal(render('{{range 50}}0123456789{{end}}', {}, { limits: { maxOutputBytes: 500 } }).length, 500);
  });

  it('stops runaway template recursion at maxTemplateDepth', () => {
    const src = '{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}';
    assert.throws(() => render(src), (err: unknown) => err instanceof TemplateError && /exceeded maximum template depth \(100\)/.test(err.message));
    assert.throws(() => render(src, {}, { limits: { maxTemplateDepth: 3 } }), /exceeded maximum template depth \(3\)/);
    // Recursion that ends within the limit is fine.
    const countdown = '{{define "c"}}{{.}}{{if gt . 0}}{{template "c" (len (slice "xxxxxxxxxx" 1 .))}}{{end}}{{end}}{{template "c" 3}}';
    assert.equal(render(countdown, {}, { limits: { maxTemplateDepth: 5 } }), '3210');
  });

  it('counts every range iteration against maxRangeIterations', () => {
    assert.throws(() => render('{{range 10}}{{range 10}}{{end}}{{end}}', {}, { limits: { maxRangeIterations: 50 } }), /range exceeds the limit of 50 iterations/);
    assert.equal(render('{{range 5}}{{range 5}}.{{end}}{{end}}', {}, { limits: { maxRangeIterations: 30 } }).length, 25);
  });
});
