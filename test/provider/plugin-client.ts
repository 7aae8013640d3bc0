/**
 * A plugin host for tests that launches the provider the way Terraform's go-plugin client does: the magic
 * cookie, protocol versions, port range and a client certificate in the environment; the handshake line read
 * from stdout and its certificate decoded as go-plugin does (unpadded standard base64); then gRPC over mutual
 * TLS on the announced socket.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { selfSignedCert, toPem } from '../../provider/protocol/cert.js';
import { MAGIC_COOKIE_VALUE } from '../../provider/protocol/handshake.js';
import { serviceDefinition, type Message } from '../../provider/protocol/rpc.js';
import { finished, REPO_ROOT, type Finished } from '../helpers/process.js';

export const LAUNCHER = path.join(REPO_ROOT, 'provider/bin/terraform-provider-coffer');

export interface Handshake {
  core: string;
  app: string;
  network: string;
  address: string;
  protocol: string;
  cert: string;
}

export function parseHandshake(line: string): Handshake {
  const parts = line.trim().split('|');
  if (parts.length !== 6) throw new Error(`handshake line has ${parts.length} fields: ${line}`);
  const [core, app, network, address, protocol, cert] = parts;
  return { core, app, network, address, protocol, cert };
}

/** go-plugin's base64.RawStdEncoding: the standard alphabet, and padding is an error. */
export function decodeRawStd(s: string): Buffer {
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) throw new Error('not unpadded standard base64');
  return Buffer.from(s, 'base64');
}

export interface LaunchOptions {
  env?: Record<string, string | undefined>;
  tls?: boolean;
  /**
   * Start the provider from a shell that stays its parent (`child` is then the shell), so that a test can kill
   * the "host" without the provider: the provider's stdout and stderr still come to this process.
   */
  underShell?: boolean;
}

export interface Launched {
  child: ChildProcess;
  handshake: Handshake;
  line: string;
  stderr: () => string;
  stdout: () => string;
  exited: Promise<number | string>;
  provider: GrpcClient;
  controller: GrpcClient;
  stdio: GrpcClient;
  health: GrpcClient;
  /** Calls a unary RPC of the Provider service. */
  call(method: string, request?: Message): Promise<Message>;
  close(): Promise<void>;
}

export type GrpcClient = grpc.Client & Record<string, (...args: any[]) => any>;

export function baseEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TF_PLUGIN_MAGIC_COOKIE: MAGIC_COOKIE_VALUE, PLUGIN_PROTOCOL_VERSIONS: '5,6', PLUGIN_MIN_PORT: '10000', PLUGIN_MAX_PORT: '25000' };
  for (const k of ['COFFER_ADDR', 'COFFER_TOKEN', 'VAULT_ADDR', 'VAULT_TOKEN', 'TF_DISABLE_PLUGIN_TLS']) delete env[k];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs the launcher and waits for it to exit (for launches that must fail). */
export function runLauncher(env: NodeJS.ProcessEnv): Promise<Finished> {
  return finished(spawn(LAUNCHER, [], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
}

export async function launch(options: LaunchOptions = {}): Promise<Launched> {
  const tls = options.tls ?? true;
  const clientCert = selfSignedCert('terraform-test');
  const env = baseEnv({
    PLUGIN_CLIENT_CERT: tls ? clientCert.certPem : undefined,
    TF_DISABLE_PLUGIN_TLS: tls ? undefined : '1',
    ...options.env,
  });
  const child = options.underShell
    ? spawn('sh', ['-c', '"$0" & wait', LAUNCHER], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(LAUNCHER, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no handshake within 20 s; stderr: ${err}`)), 20_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(out.slice(0, nl));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`provider exited (${code}) before the handshake; stderr: ${err}`));
    });
  });
  const handshake = parseHandshake(line);
  const target = handshake.network === 'unix' ? `unix:${handshake.address}` : handshake.address;
  let creds: grpc.ChannelCredentials;
  let channelOptions: grpc.ChannelOptions = {};
  if (tls) {
    const serverPem = toPem('CERTIFICATE', decodeRawStd(handshake.cert));
    new X509Certificate(serverPem); // must be a certificate
    creds = grpc.credentials.createSsl(Buffer.from(serverPem), Buffer.from(clientCert.keyPem), Buffer.from(clientCert.certPem));
    channelOptions = { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' };
  } else {
    creds = grpc.credentials.createInsecure();
  }
  const make = (name: string) => {
    const Ctor = grpc.makeGenericClientConstructor(serviceDefinition(name) as grpc.ServiceDefinition, name);
    return new Ctor(target, creds, channelOptions) as unknown as GrpcClient;
  };
  const provider = make('tfplugin6.Provider');
  const controller = make('plugin.GRPCController');
  const stdio = make('plugin.GRPCStdio');
  const health = make('grpc.health.v1.Health');
  return {
    child,
    handshake,
    line,
    stderr: () => err,
    stdout: () => out,
    exited,
    provider,
    controller,
    stdio,
    health,
    call: (method, request) => unaryCall(provider, method, request),
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        await unaryCall(controller, 'Shutdown', {}).catch(() => undefined);
        const done = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 5000))]);
        if (done === 'timeout') child.kill('SIGKILL');
      }
      for (const c of [provider, controller, stdio, health]) c.close();
    },
  };
}

export function unaryCall(client: GrpcClient, method: string, request: Message = {}): Promise<Message> {
  return new Promise((resolve, reject) =>
    client[method](request, { deadline: Date.now() + 30_000 }, (e: grpc.ServiceError | null, res: Message) => (e ? reject(e) : resolve(res))),
  );
}
