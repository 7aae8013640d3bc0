/** The database engine's pure parts: username templates, statement splitting, passwords, redaction, parsing. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { globMatch } from '../../src/engines/database/backend.js';
import { redactConnectionUrl } from '../../src/engines/database/path_config_connection.js';
import { checkPasswordPolicy, generatePassword } from '../../src/engines/database/password.js';
import { parseMySQLDsn } from '../../src/engines/database/plugins/mysql/dsn.js';
import { DEFAULT_USERNAME_TEMPLATE as MYSQL_TEMPLATE } from '../../src/engines/database/plugins/mysql/mysql.js';
import { sanitize } from '../../src/engines/database/plugins/plugin.js';
import { DEFAULT_USERNAME_TEMPLATE as PG_TEMPLATE, scramSha256 } from '../../src/engines/database/plugins/postgresql/postgresql.js';
import { aclRules, DEFAULT_USERNAME_TEMPLATE as REDIS_TEMPLATE } from '../../src/engines/database/plugins/redis/redis.js';
import { effectiveTtl } from '../../src/engines/database/secret_creds.js';
import { expandStatements, formatExpiration, renderStatement, splitStatements, statementTemplateError } from '../../src/engines/database/statements.js';
import { checkGeneratedUsername, goTimeFormat, UsernameTemplate, validateUsernameTemplate } from '../../src/engines/database/username.js';

const meta = { DisplayName: 'token', RoleName: 'my-role' };
const gen = (src: string, data = meta) => new UsernameTemplate(src).generate(data);

describe('database engine: username_template (Go template subset)', () => {
  it('renders Vault\'s default templates', () => {
    const now = Math.floor(Date.now() / 1000);
    const pgName = gen(PG_TEMPLATE, { DisplayName: 'approle-long-name', RoleName: 'readonly-role' });
    const m = /^v-approle--readonly-([A-Za-z0-9]{20})-(\d+)$/.exec(pgName);
    assert.ok(m, pgName);
    assert.ok(Math.abs(Number(m[2]) - now) <= 2);
    assert.equal(gen(MYSQL_TEMPLATE).length, 32);
    assert.match(gen(REDIS_TEMPLATE), /^V_TOKEN_MY-ROLE_[A-Z0-9]{20}_\d{10}$/);
  });

  it('supports fields, pipes, functions, printf and literals', () => {
    assert.equal(gen('{{.DisplayName}}-{{.RoleName}}'), 'token-my-role');
    assert.equal(gen('{{ .RoleName | truncate 2 }}'), 'my');
    assert.equal(gen('{{ .RoleName | uppercase }}/{{ "ABC" | lowercase }}'), 'MY-ROLE/abc');
    assert.equal(gen('{{ .RoleName | replace "-" "_" }}'), 'my_role');
    assert.equal(gen('{{ printf "%s-%s" .DisplayName (.RoleName | truncate 4) }}'), 'token-my-r');
    assert.equal(gen('{{ printf "%s_%05d_%q" "a" 42 "b" }}'), 'a_00042_"b"');
    assert.equal(gen('{{ printf "%d%%" 7 }}'), '7%');
    assert.match(gen('{{ random 12 }}'), /^[A-Za-z0-9]{12}$/);
    assert.match(gen('{{unix_time}}'), /^\d{10}$/);
    assert.match(gen('{{unix_time_millis}}'), /^\d{13}$/);
    assert.match(gen('{{ timestamp "2006-01-02T15:04:05Z07:00" }}'), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    assert.match(gen('{{ uuid }}'), /^[0-9a-f-]{36}$/);
    assert.equal(gen('{{ .RoleName | sha256 | truncate 8 }}'), createHash('sha256').update('my-role').digest('hex').slice(0, 8));
    assert.equal(gen('{{ "abcdefghijklmnop" | truncate_sha256 12 }}').length, 12);
    assert.equal(gen('{{ "hi" | base64 }}'), 'aGk=');
    assert.equal(gen('{{ "hi" | hex }}'), '6869');
    assert.equal(gen('{{ `raw "q"` }}'), 'raw "q"');
    assert.equal(gen('a  {{- "b" -}}  c'), 'abc');
    assert.equal(gen('x{{/* a comment */}}y'), 'xy');
    assert.equal(gen('{{ (printf "%s" .RoleName) | uppercase }}'), 'MY-ROLE');
  });

  it('formats Go time layouts in UTC', () => {
    const d = new Date(Date.UTC(2024, 2, 5, 14, 7, 9, 120));
    assert.equal(goTimeFormat('2006-01-02 15:04:05', d), '2024-03-05 14:07:09');
    assert.equal(goTimeFormat('20060102150405', d), '20240305140709');
    assert.equal(goTimeFormat('Jan 2 2006 3:04PM .000 MST', d), 'Mar 5 2024 2:07PM .120 UTC');
    assert.equal(goTimeFormat('Monday January 06', d), 'Tuesday March 24');
  });

  it('renders the whole Go template language, as Vault does (actions, variables)', () => {
    assert.equal(gen('{{ if .RoleName }}x{{ end }}'), 'x');
    assert.equal(gen('{{ $r := .RoleName | uppercase }}{{ with .DisplayName }}{{ . }}-{{ $r }}{{ end }}'), 'token-MY-ROLE');
  });

  it('rejects unknown functions, fields, bad syntax and unclosed actions when written', () => {
    const bad = ['{{ nosuch }}', '{{ .Password }}', '{{ "unterminated }}', '{{ if .RoleName }}x', '{{ (random 3 }}', '{{ }}', '{{ .RoleName'];
    for (const src of bad) assert.throws(() => validateUsernameTemplate(src), /unable to parse template/, src);
    assert.throws(() => validateUsernameTemplate('{{ .RoleName | truncate 0 }}'), /max length must be > 0/);
    assert.throws(() => validateUsernameTemplate('{{ truncate 3 }}'), /wrong number of args/);
    assert.throws(() => new UsernameTemplate(''), /missing template/);
  });

  it('refuses generated usernames that could break out of a quoted identifier', () => {
    for (const name of ['a"b', "a'b", 'a`b', 'a\\b', 'a;b', 'a\nb', '']) assert.throws(() => checkGeneratedUsername(name), /username/, name);
    checkGeneratedUsername('v-token-role-AbC123-1700000000');
  });
});

describe('database engine: statements', () => {
  it('splits on top-level semicolons only', () => {
    assert.deepEqual(splitStatements(`CREATE ROLE "{{name}}"; GRANT SELECT ON t TO "{{name}}";`, 'postgres'),
      ['CREATE ROLE "{{name}}"', 'GRANT SELECT ON t TO "{{name}}"']);
    assert.deepEqual(splitStatements(`SELECT 'a;b', "c;d"; SELECT 2;;`, 'postgres'), [`SELECT 'a;b', "c;d"`, 'SELECT 2']);
    assert.deepEqual(splitStatements(`SELECT 'it''s;'; SELECT 1`, 'postgres'), [`SELECT 'it''s;'`, 'SELECT 1']);
    const body = `DO $$ BEGIN EXECUTE 'x'; PERFORM 1; END $$; SELECT 1`;
    assert.deepEqual(splitStatements(body, 'postgres'), [`DO $$ BEGIN EXECUTE 'x'; PERFORM 1; END $$`, 'SELECT 1']);
    assert.deepEqual(splitStatements('DO $fn$ a; b $fn$; SELECT $1', 'postgres'), ['DO $fn$ a; b $fn$', 'SELECT $1']);
    assert.deepEqual(splitStatements('SELECT 1 -- c;omment\n; /* x; /* nested; */ y; */ SELECT 2', 'postgres'),
      ['SELECT 1 -- c;omment', '/* x; /* nested; */ y; */ SELECT 2']);
    assert.deepEqual(splitStatements(`SELECT 'a\\';b'; SELECT \`c;d\`; # x;y\nSELECT 3`, 'mysql'),
      [`SELECT 'a\\';b'`, 'SELECT `c;d`', '# x;y\nSELECT 3']);
    assert.deepEqual(expandStatements(['A; B', '', 'C'], 'postgres'), ['A', 'B', 'C']);
  });

  it('renders with handlebars without HTML escaping', () => {
    assert.equal(renderStatement(`CREATE ROLE "{{name}}" PASSWORD '{{password}}' VALID UNTIL '{{expiration}}' {{other}}`,
      { name: 'v-a&b<c>', password: 'p"w', expiration: 'e' }), `CREATE ROLE "v-a&b<c>" PASSWORD 'p"w' VALID UNTIL 'e' `);
    assert.equal(formatExpiration(new Date(Date.UTC(2024, 0, 2, 3, 4, 5))), '2024-01-02 03:04:05+0000');
    assert.equal(statementTemplateError(['CREATE ROLE "{{name}}"', '["+@read"]']), null);
    assert.match(statementTemplateError(['CREATE ROLE "{{name}"']) ?? '', /^invalid statement template: Parse error/);
  });

  it('parses Redis creation statements as JSON rule lists or raw rules', () => {
    assert.deepEqual(aclRules([]), ['~*', '+@read']);
    assert.deepEqual(aclRules(['["+@read","~*"]']), ['+@read', '~*']);
    assert.deepEqual(aclRules(['+@all', '~app:*']), ['+@all', '~app:*']);
  });
});

describe('database engine: passwords, TTLs, redaction and parsing', () => {
  it('generates Vault-default passwords and refuses named policies', async () => {
    for (let i = 0; i < 200; i++) {
      const pw = generatePassword();
      assert.match(pw, /^[A-Za-z0-9-]{20}$/);
      assert.ok(/[a-z]/.test(pw) && /[A-Z]/.test(pw) && /[0-9]/.test(pw) && pw.includes('-'));
    }
    checkPasswordPolicy('');
    assert.throws(() => checkPasswordPolicy('strict'), /not supported/);
    assert.match(await scramSha256('pw'), /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
  });

  it('computes TTLs like Vault (role default, mount default, role max, mount max)', () => {
    const system = { defaultLeaseTTL: () => 1000, maxLeaseTTL: () => 5000 };
    assert.deepEqual(effectiveTtl(0, 0, 0, system), { ttl: 1000, max: 5000 });
    assert.deepEqual(effectiveTtl(0, 300, 0, system), { ttl: 300, max: 5000 });
    assert.deepEqual(effectiveTtl(0, 300, 200, system), { ttl: 200, max: 200 });
    assert.deepEqual(effectiveTtl(9000, 300, 0, system), { ttl: 5000, max: 5000 });
    assert.deepEqual(effectiveTtl(0, 0, 9000, system), { ttl: 1000, max: 5000 });
  });

  it('redacts secrets and fragments of generated passwords from messages', () => {
    const pw = 'Abc-123-XYZ-789-qwer';
    assert.equal(sanitize(`near '${pw}' at line 1`, [], [pw]), `near '[password]' at line 1`);
    assert.equal(sanitize(`near '${pw.slice(0, 9)}' at line 1`, [], [pw]), `near '[password]' at line 1`);
    assert.equal(sanitize('user "postgres": pw postgres1 rejected', ['postgres1']), 'user "postgres": pw [password] rejected');
    assert.equal(sanitize('nothing here', ['secret-value'], [pw]), 'nothing here');
  });

  it('matches allowed_roles globs', () => {
    assert.ok(globMatch('*', 'x'));
    assert.ok(globMatch('app-*', 'app-ro'));
    assert.ok(globMatch('*-ro', 'app-ro'));
    assert.ok(globMatch('a*b*c', 'aXXbYYc'));
    assert.ok(!globMatch('app-*', 'other'));
    assert.ok(!globMatch('exact', 'exactly'));
    assert.ok(!globMatch('ab*ba', 'aba'));
  });

  it('parses Go MySQL DSNs and mysql:// URLs, substituting placeholders after parsing', () => {
    assert.deepEqual(parseMySQLDsn('{{username}}:{{password}}@tcp(db.local:3307)/app?tls=skip-verify', 'root', 'p@ss:w/rd'), {
      user: 'root', password: 'p@ss:w/rd', host: 'db.local', port: 3307, database: 'app', params: { tls: 'skip-verify' },
    });
    assert.deepEqual(parseMySQLDsn('{{username}}:{{password}}@unix(/run/mysqld.sock)/', 'u', ''), {
      user: 'u', password: '', socketPath: '/run/mysqld.sock', database: undefined, params: {},
    });
    assert.deepEqual(parseMySQLDsn('/', 'u', 'p'), { user: '', password: '', host: '127.0.0.1', port: 3306, database: undefined, params: {} });
    const url = parseMySQLDsn('mysql://{{username}}:{{password}}@10.0.0.1/db', 'admin', 'pw');
    assert.equal(url.user, 'admin');
    assert.equal(url.password, 'pw');
    assert.equal(url.port, 3306);
    assert.throws(() => parseMySQLDsn('nope', 'u', 'p'), /invalid DSN/);
  });

  it('redacts literal passwords in connection URLs but keeps placeholders', () => {
    assert.equal(redactConnectionUrl('postgresql://{{username}}:{{password}}@h:5432/db'), 'postgresql://{{username}}:{{password}}@h:5432/db');
    assert.equal(redactConnectionUrl('postgresql://admin:s3cret@h:5432/db'), 'postgresql://admin:xxxxx@h:5432/db');
    assert.equal(redactConnectionUrl('admin:s3cret@tcp(h:3306)/'), 'admin:xxxxx@tcp(h:3306)/');
    assert.equal(redactConnectionUrl('{{username}}:{{password}}@tcp(h:3306)/'), '{{username}}:{{password}}@tcp(h:3306)/');
    assert.equal(redactConnectionUrl('host=h user=u password=s3cret dbname=d'), 'host=h user=u password=xxxxx dbname=d');
  });
});
