/**
 * ESO's side of the protocol, implemented from its documentation and provider behaviour (ESO, Kubernetes and
 * Go cannot run on this machine): the webhook provider (GetSecret, GetSecretMap, PushSecret, DeleteSecret), the
 * Webhook generator, and the KV v2 read of the vault provider. Requests are rendered from the shipped manifests'
 * templates and sent over HTTPS to a live coffer; answers go through ESO's jsonPath and value rules.
 *
 * Facts encoded here (ESO v2.x, providers/v1/webhook and generators/v1/webhook):
 * - template data is `remoteRef` {key, version, property, namespace} plus one map per `secrets` entry; values
 *   in `url` are query-escaped (Go's url.QueryEscape), headers and body get them raw;
 * - 404 means "secret does not exist"; any other non-2xx fails with "endpoint gave error <status line>";
 * - GetSecret applies result.jsonPath (itself a template) and formats: string as-is, number without decimals,
 *   bool, null → "", array → first element, object → JSON (Go json.Marshal: sorted keys);
 * - GetSecretMap (dataFrom.extract and the generator) parses a string result as JSON, needs an object, and
 *   formats each value with GetByteValue (float64 with the shortest form, objects/arrays as JSON);
 * - PushSecret: method default POST, data {remoteRef: {remoteKey, secretKey?, <remoteKey>: value}}, the url
 *   with escaped values, body default `{{ .remoteRef.<remoteKey> }}`; the value is the Secret key's bytes, or
 *   without a secretKey the whole Secret's decoded data as JSON;
 * - DeleteSecret: method DELETE, url and headers rendered with {remoteRef: {remoteKey}} only (unescaped, and
 *   without the `secrets` maps), 2xx or 404 is success;
 * - `auth.ntlm`: every request (DeleteSecret too) gets Basic credentials read from the two Secrets, and goes
 *   through go-ntlmssp's Negotiator (the version ESO pins): sent first without credentials; on a 401 whose
 *   WWW-Authenticate offers neither NTLM nor Negotiate, sent again with the Basic header. That transport replaces
 *   the one built from caBundle, so TLS verifies against the pod's system trust store.
 */
import { Agent, request } from 'undici';
import { renderGoTemplate } from './gotemplate.js';

export type TemplateData = Record<string, Record<string, string>>;

export interface WebhookSpec {
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  result?: { jsonPath?: string };
  secrets?: { name: string; secretRef: SecretKeySelector }[];
  caBundle?: string;
  auth?: { ntlm?: { usernameSecret: SecretKeySelector; passwordSecret: SecretKeySelector } };
}

interface SecretKeySelector {
  name: string;
  namespace?: string;
  key?: string;
}

/** A Go-style error: ESO's message, as it would appear in the ExternalSecret's status. */
export class EsoError extends Error {}
/** ESO's NoSecretError (the endpoint answered 404). */
export class NoSecretError extends EsoError {
  constructor() {
    super('Secret does not exist');
  }
}

/** Go's url.QueryEscape: space as '+', and everything but [A-Za-z0-9-_.~] percent-encoded. */
export function queryEscape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+');
}

// ---- PaesslerAG/jsonpath, for the expressions the manifests use ($, .name, ['name'], [n]) ------------------------

export function jsonPathGet(path: string, data: unknown): unknown {
  if (!path.startsWith('$')) throw new EsoError(`parsing error: ${path}: unexpected start`);
  let current = data;
  const steps = path.slice(1).match(/\.[A-Za-z_][A-Za-z0-9_-]*|\['(?:[^'\\]|\\.)*'\]|\[\d+\]/g) ?? [];
  if (steps.join('') !== path.slice(1)) throw new EsoError(`parsing error: ${path}: unsupported expression`);
  for (const step of steps) {
    if (step.startsWith('[') && !step.startsWith("['")) {
      const index = Number(step.slice(1, -1));
      if (!Array.isArray(current) || index >= current.length) throw new EsoError(`index [${index}] out of range`);
      current = current[index];
      continue;
    }
    const key = step.startsWith('.') ? step.slice(1) : step.slice(2, -2);
    if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, key)) {
      throw new EsoError(`unknown key ${key}`);
    }
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

// ---- Go formatting ------------------------------------------------------------------------------------------------

/** Go's encoding/json Marshal of decoded JSON: map keys sorted, <, > and & escaped, compact. */
export function goJsonMarshal(value: unknown): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(sorted) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])])) : v;
  return JSON.stringify(sorted(value)).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

/** strconv.FormatFloat(v, 'f', 0, 64): no decimals, halves rounded to even. */
function formatNoDecimals(v: number): string {
  const floor = Math.floor(v);
  const diff = v - floor;
  const rounded = diff > 0.5 || (diff === 0.5 && floor % 2 !== 0) ? floor + 1 : floor;
  return String(rounded === 0 ? 0 : rounded);
}

/** The webhook provider's extractSecretData (data[].remoteRef). */
export function extractSecretData(value: unknown): string {
  if (typeof value === 'boolean') return String(value);
  if (value === null) return '';
  if (typeof value === 'number') return formatNoDecimals(value);
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    if (value.length === 0) throw new EsoError("filter worked but didn't get any result");
    return extractSecretData(value[0]);
  }
  return goJsonMarshal(value);
}

/** esutils.GetByteValue (each value of dataFrom.extract and of a generator's answer). */
export function getByteValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value); // FormatFloat(v, 'f', -1, 64) for the values used here
  if (typeof value === 'boolean') return String(value);
  if (value === null) return '';
  return goJsonMarshal(value);
}

// ---- the webhook client ------------------------------------------------------------------------------------------

export interface EsoCluster {
  /** Kubernetes Secrets ESO may read, by `namespace/name`: their decoded data. */
  secrets: Map<string, { labels: Record<string, string>; data: Record<string, string> }>;
  /** PEM bundle the ESO pod's system trust store holds (used when `auth.ntlm` drops the caBundle transport). */
  systemCa?: string;
}

export class WebhookClient {
  private readonly dispatcher: Agent;

  /** `namespace`: the ExternalSecret's (or PushSecret's) namespace; `clusterScoped` for a ClusterSecretStore. */
  constructor(
    private readonly spec: WebhookSpec,
    private readonly cluster: EsoCluster,
    private readonly namespace: string,
    private readonly clusterScoped: boolean,
  ) {
    const bundle = spec.caBundle ? Buffer.from(spec.caBundle, 'base64').toString('utf8') : undefined;
    const ca = spec.auth?.ntlm ? cluster.systemCa : bundle;
    this.dispatcher = new Agent({ connect: ca ? { ca } : {} });
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }

  /** getStoreSecret, with ESO's label check. */
  private storeSecret(ref: SecretKeySelector): Record<string, string> {
    const ns = this.clusterScoped ? ref.namespace : this.namespace;
    if (this.clusterScoped && !ns) throw new EsoError(`no namespace on ClusterScoped webhook secret ${ref.name}`);
    const secret = this.cluster.secrets.get(`${ns}/${ref.name}`);
    if (!secret) throw new EsoError(`failed to get clustersecretstore webhook secret ${ref.name}: not found`);
    if (secret.labels['external-secrets.io/type'] !== 'webhook') {
      throw new EsoError("secret does not contain needed label 'external-secrets.io/type: webhook'. Update secret label to use it with webhook");
    }
    return secret.data;
  }

  /** The `secrets` maps. */
  private secretData(): TemplateData {
    const data: TemplateData = {};
    for (const ref of this.spec.secrets ?? []) data[ref.name] = { ...(data[ref.name] ?? {}), ...this.storeSecret(ref.secretRef) };
    return data;
  }

  /** ReqAddAuth: Basic credentials from the NTLM Secrets (replacing any Authorization header). */
  private basicAuth(): string | undefined {
    const ntlm = this.spec.auth?.ntlm;
    if (!ntlm) return undefined;
    const user = this.storeSecret(ntlm.usernameSecret)[ntlm.usernameSecret.key ?? ''] ?? '';
    const password = this.storeSecret(ntlm.passwordSecret)[ntlm.passwordSecret.key ?? ''] ?? '';
    return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }

  /** One round trip, through go-ntlmssp's Negotiator when the request carries Basic credentials. */
  private async roundTrip(method: string, url: string, headers: Record<string, string>, body: string): Promise<{ status: number; reason: string; text: string }> {
    const send = async (h: Record<string, string>) => {
      const res = await request(url, { method: method as 'GET', headers: h, body: body === '' ? undefined : body, dispatcher: this.dispatcher });
      return { status: res.statusCode, reason: res.statusText ?? '', text: await res.body.text(), challenge: String(res.headers['www-authenticate'] ?? '') };
    };
    const basic = Object.entries(headers).find(([k, v]) => k.toLowerCase() === 'authorization' && /^basic /i.test(v));
    if (!basic) return send(headers);
    const anonymous = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
    const first = await send(anonymous);
    if (first.status !== 401) return first;
    if (/^(ntlm|negotiate)\b/i.test(first.challenge)) throw new EsoError('NTLM handshake: not emulated here (coffer never offers it)');
    return send({ ...anonymous, Authorization: basic[1] });
  }

  private templateData(ref: { key: string; version?: string; property?: string } | null, escape: boolean): TemplateData {
    const data = this.secretData();
    if (ref) {
      const e = escape ? queryEscape : (s: string) => s;
      data.remoteRef = { key: e(ref.key), version: e(ref.version ?? ''), property: e(ref.property ?? ''), namespace: this.namespace };
    }
    return data;
  }

  private async execute(method: string, url: string, body: string, headerData: TemplateData): Promise<string> {
    const headers: Record<string, string> = {};
    for (const [name, template] of Object.entries(this.spec.headers ?? {})) headers[name] = renderGoTemplate(template, headerData);
    const basic = this.basicAuth();
    if (basic) {
      for (const name of Object.keys(headers)) if (name.toLowerCase() === 'authorization') delete headers[name];
      headers.Authorization = basic;
    }
    const res = await this.roundTrip(method, url, headers, body);
    if (res.status === 404) throw new NoSecretError();
    if (res.status < 200 || res.status >= 300) {
      // Go's resp.Status: the code and the reason phrase as the server sent it.
      throw new EsoError(`endpoint gave error ${res.status} ${res.reason}`.trimEnd());
    }
    return res.text;
  }

  /** GetWebhookData */
  private async webhookData(ref: { key: string; version?: string; property?: string } | null): Promise<string> {
    const escaped = this.templateData(ref, true);
    const raw = this.templateData(ref, false);
    const url = renderGoTemplate(this.spec.url, escaped);
    const body = renderGoTemplate(this.spec.body ?? '', raw);
    return this.execute(this.spec.method || 'GET', url, body, raw);
  }

  /** data[].remoteRef */
  async getSecret(ref: { key: string; version?: string; property?: string }): Promise<string> {
    const result = await this.webhookData(ref);
    const jsonPath = renderGoTemplate(this.spec.result?.jsonPath ?? '', this.templateData(ref, false));
    if (jsonPath === '') return result;
    return extractSecretData(jsonPathGet(jsonPath, parseJson(result)));
  }

  /** dataFrom[].extract (ref) and the Webhook generator (ref null). */
  async getSecretMap(ref: { key: string; version?: string; property?: string } | null): Promise<Record<string, string>> {
    const result = await this.webhookData(ref);
    const jsonPath = ref ? renderGoTemplate(this.spec.result?.jsonPath ?? '', this.templateData(ref, false)) : this.spec.result?.jsonPath ?? '';
    let data = parseJson(result);
    if (jsonPath) data = jsonPathGet(jsonPath, data);
    if (typeof data === 'string') data = parseJson(data);
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new EsoError(`failed to get response (wrong type: ${typeof data})`);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(data)) out[k] = getByteValue(v);
    return out;
  }

  /** PushSecret for one `data` entry: the value is one key of the Secret, or the whole Secret as JSON. */
  async pushSecret(secret: Record<string, string>, match: { secretKey?: string; remoteKey: string }): Promise<void> {
    if (!match.remoteKey) throw new EsoError('remote key must be defined');
    let value: string;
    if (match.secretKey) {
      if (!Object.hasOwn(secret, match.secretKey)) throw new EsoError(`failed to find secret key in secret with key: ${match.secretKey}`);
      value = secret[match.secretKey]!;
    } else {
      value = goJsonMarshal(secret);
    }
    const pushData = (escape: boolean): TemplateData => {
      const e = escape ? queryEscape : (s: string) => s;
      const data = this.secretData();
      data.remoteRef = { remoteKey: e(match.remoteKey), ...(match.secretKey ? { secretKey: e(match.secretKey) } : {}) };
      data.remoteRef[match.remoteKey] = e(value);
      return data;
    };
    const url = renderGoTemplate(this.spec.url, pushData(true));
    const raw = pushData(false);
    const body = renderGoTemplate(this.spec.body || `{{ .remoteRef.${match.remoteKey} }}`, raw);
    try {
      await this.execute(this.spec.method || 'POST', url, body, raw);
    } catch (err) {
      throw new EsoError(`failed to push webhook data: ${(err as Error).message}`);
    }
  }

  /** DeleteSecret: as ESO renders it, url and headers see only {remoteRef: {remoteKey}} (unescaped). */
  async deleteSecret(remoteKey: string): Promise<void> {
    const data: TemplateData = { remoteRef: { remoteKey } };
    try {
      await this.execute('DELETE', renderGoTemplate(this.spec.url, data), '', data);
    } catch (err) {
      if (err instanceof NoSecretError) return; // "Secret doesn't exist, that's OK for delete"
      throw new EsoError(`delete endpoint gave error ${(err as Error).message.replace(/^endpoint gave error /, '')}`);
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new EsoError('failed to parse response json');
  }
}

// ---- the vault provider (KV v2 read) ------------------------------------------------------------------------------

/** gjson paths as the vault provider's properties use them: dot-separated keys, numeric array indices, `\.`. */
export function gjsonGet(json: string, path: string): string | undefined {
  let current: unknown = JSON.parse(json);
  for (const segment of path.split(/(?<!\\)\./).map((s) => s.replace(/\\\./g, '.'))) {
    if (Array.isArray(current) && /^\d+$/.test(segment)) current = current[Number(segment)];
    else if (current && typeof current === 'object' && !Array.isArray(current) && Object.hasOwn(current, segment)) current = (current as Record<string, unknown>)[segment];
    else return undefined;
  }
  if (current === undefined) return undefined;
  if (typeof current === 'string') return current;
  if (current === null) return '';
  return typeof current === 'object' ? goJsonMarshal(current) : String(current);
}

export interface VaultSpec {
  server: string;
  path: string;
  version: string;
  caBundle?: string;
}

export class VaultProviderClient {
  private readonly dispatcher: Agent;

  constructor(private readonly spec: VaultSpec, private readonly token: string) {
    const ca = spec.caBundle ? Buffer.from(spec.caBundle, 'base64').toString('utf8') : undefined;
    this.dispatcher = new Agent({ connect: ca ? { ca } : {} });
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }

  /** readSecret: KV v2 GET /v1/<mount>/data/<key>[?version=], the secret's `data.data`. */
  private async read(key: string, version?: string): Promise<Record<string, unknown>> {
    const url = `${this.spec.server}/v1/${this.spec.path}/data/${key}${version ? `?version=${version}` : ''}`;
    const res = await request(url, { headers: { 'x-vault-token': this.token, 'x-vault-request': 'true' }, dispatcher: this.dispatcher });
    const body = (await res.body.json().catch(() => ({}))) as { data?: { data?: Record<string, unknown> | null }; errors?: string[] };
    if (res.statusCode === 404) throw new NoSecretError();
    if (res.statusCode >= 400) throw new EsoError(`cannot read secret data from Vault: Code: ${res.statusCode}. Errors: ${(body.errors ?? []).join(', ')}`);
    const data = body.data?.data;
    if (!data) throw new NoSecretError();
    return data;
  }

  /** data[].remoteRef: no property → JSON of the secret; exact key first; else a gjson path. */
  async getSecret(ref: { key: string; property?: string; version?: string }): Promise<string> {
    const data = await this.read(ref.key, ref.version);
    if (!ref.property) return goJsonMarshal(data);
    if (Object.hasOwn(data, ref.property)) return getByteValue(data[ref.property]);
    const value = gjsonGet(goJsonMarshal(data), ref.property);
    if (value === undefined) throw new EsoError(`key ${ref.property} does not exist in secret ${ref.key}`);
    return value;
  }

  async getSecretMap(ref: { key: string; version?: string }): Promise<Record<string, string>> {
    const data = await this.read(ref.key, ref.version);
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, getByteValue(v)]));
  }
}
