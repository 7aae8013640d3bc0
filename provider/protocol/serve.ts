/**
 * Runs a provider as a go-plugin gRPC server the way Terraform expects: check the launch environment, listen
 * on a unix socket (or TCP in the port range) with mutual TLS, print the handshake line, serve until the
 * host's controller says Shutdown, then release what the provider holds and exit.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { parseCertPem, selfSignedCert } from './cert.js';
import { handshakeLine, LaunchError, readLaunchSettings, type LaunchSettings } from './handshake.js';
import type { Log } from './provider-service.js';
import { serviceDefinition, type Message } from './rpc.js';
import type { ProviderDefinition } from './types.js';

/** Terraform's own limit for messages to and from providers. */
const MAX_MESSAGE_BYTES = 256 << 20;
/** Terraform kills a plugin that has not exited about two seconds after Shutdown; finish cleanup before. */
const SHUTDOWN_BUDGET_MS = 1500;
const SHUTDOWN_GRACE_MS = 100;
/** How often the provider checks that the Terraform process that started it is still there. */
const PARENT_CHECK_MS = 1000;

export const stderrLog: Log = (line) => {
  process.stderr.write(`${line}\n`);
};

type Unary = (req: Message) => Promise<Message>;

function unary(fn: Unary, log: Log): grpc.handleUnaryCall<Message, Message> {
  return (call, callback) => {
    fn(call.request).then(
      (res) => callback(null, res),
      (err) => {
        // The service answers failures as diagnostics; reaching here is a bug (e.g. an unencodable response).
        log(`[ERROR] ${call.getPath()}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        callback({ code: grpc.status.INTERNAL, details: `provider failed to answer ${call.getPath()}` });
      },
    );
  };
}

async function bind(server: grpc.Server, settings: LaunchSettings, creds: grpc.ServerCredentials): Promise<{ network: 'unix' | 'tcp'; address: string; cleanup: () => void }> {
  const bindAsync = (target: string) =>
    new Promise<number>((resolve, reject) => server.bindAsync(target, creds, (err, port) => (err ? reject(err) : resolve(port))));
  if (settings.transport === 'unix') {
    const socket = path.join(settings.socketDir, `plugin${randomBytes(6).toString('hex')}`);
    await bindAsync(`unix:${socket}`);
    return { network: 'unix', address: socket, cleanup: () => rmSync(socket, { force: true }) };
  }
  for (let port = settings.minPort; port <= settings.maxPort; port++) {
    if (!(await portFree(port))) continue;
    try {
      await bindAsync(`127.0.0.1:${port}`);
      return { network: 'tcp', address: `127.0.0.1:${port}`, cleanup: () => undefined };
    } catch {
      // taken between the probe and the bind: try the next one
    }
  }
  throw new LaunchError(`no free port between PLUGIN_MIN_PORT ${settings.minPort} and PLUGIN_MAX_PORT ${settings.maxPort}`);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * Serves the provider `load` resolves to. Loading starts only once the handshake line is out: Terraform waits
 * for that line before it connects, and the provider's own modules (schemas, validation, HTTP client) are
 * needed only by the first call, so their import overlaps with Terraform's connection set-up.
 */
export async function serve<P>(load: () => Promise<ProviderDefinition<P>>, env: NodeJS.ProcessEnv = process.env, log: Log = stderrLog): Promise<void> {
  let settings: LaunchSettings;
  let credentials: grpc.ServerCredentials;
  let certDer: Buffer | null = null;
  try {
    settings = readLaunchSettings(env);
    if (settings.clientCertPem) {
      try {
        parseCertPem(settings.clientCertPem);
      } catch {
        throw new LaunchError('PLUGIN_CLIENT_CERT does not hold a PEM certificate');
      }
      const cert = selfSignedCert();
      certDer = cert.der;
      credentials = grpc.ServerCredentials.createSsl(
        Buffer.from(settings.clientCertPem),
        [{ private_key: Buffer.from(cert.keyPem), cert_chain: Buffer.from(cert.certPem) }],
        true,
      );
    } else {
      credentials = grpc.ServerCredentials.createInsecure();
    }
  } catch (err) {
    process.stderr.write(`${err instanceof LaunchError ? err.message : String(err)}\n`);
    process.exit(1);
  }

  const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES, 'grpc.max_send_message_length': MAX_MESSAGE_BYTES });
  const openStreams = new Set<grpc.ServerWritableStream<Message, Message>>();
  let finishing = false;
  let cleanupSocket = () => undefined as void;

  const finish = async (code: number) => {
    if (finishing) return;
    finishing = true;
    const started = performance.now();
    const budget = new Promise((resolve) => setTimeout(resolve, SHUTDOWN_BUDGET_MS).unref());
    const release = loaded.then((l) => l.def.shutdown?.()).catch((err) => log(`[WARN] shutdown: ${err instanceof Error ? err.message : String(err)}`));
    await Promise.race([release, budget]);
    const released = performance.now();
    for (const s of openStreams) s.end();
    // Let answers in flight (the Shutdown call's own among them) reach the host before the process ends. The
    // host closes its connection once Shutdown has answered; one that does not is cut after a short grace.
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, SHUTDOWN_GRACE_MS);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    cleanupSocket();
    log(`[DEBUG] shut down: provider released in ${(released - started).toFixed(0)} ms, server closed in ${(performance.now() - released).toFixed(0)} ms`);
    process.exit(code);
  };

  let startLoading!: () => void;
  const loaded = new Promise<void>((resolve) => (startLoading = resolve)).then(async () => {
    const def = await load();
    const { providerService } = await import('./provider-service.js');
    return { def, service: providerService(def, log) as Record<string, Unary> };
  });
  // A provider that fails to load answers every call with that failure (and the log has the details).
  loaded.catch((err) => log(`[ERROR] loading the provider: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));
  const providerDef = serviceDefinition('tfplugin6.Provider');
  const impl: grpc.UntypedServiceImplementation = {};
  for (const name of Object.keys(providerDef)) {
    impl[name] = unary(async (req) => {
      const fn = (await loaded).service[name];
      if (!fn) throw new Error(`${name} is not implemented`);
      return fn(req);
    }, log);
  }
  server.addService(providerDef, impl);

  server.addService(serviceDefinition('plugin.GRPCController'), {
    Shutdown: (_call: grpc.ServerUnaryCall<Message, Message>, callback: grpc.sendUnaryData<Message>) => {
      callback(null, {});
      setImmediate(() => void finish(0));
    },
  });

  // Nothing is written to stdout after the handshake, so the stream stays open and empty until shutdown.
  const keepOpen = (call: grpc.ServerWritableStream<Message, Message>) => {
    openStreams.add(call);
    call.on('cancelled', () => openStreams.delete(call));
  };
  server.addService(serviceDefinition('plugin.GRPCStdio'), { StreamStdio: keepOpen });

  const serving = (service: string) => service === '' || service === 'plugin';
  server.addService(serviceDefinition('grpc.health.v1.Health'), {
    Check: (call: grpc.ServerUnaryCall<Message, Message>, callback: grpc.sendUnaryData<Message>) => {
      if (serving(call.request.service ?? '')) callback(null, { status: 'SERVING' });
      else callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${call.request.service}` });
    },
    Watch: (call: grpc.ServerWritableStream<Message, Message>) => {
      call.write({ status: serving(call.request.service ?? '') ? 'SERVING' : 'SERVICE_UNKNOWN' });
      keepOpen(call);
    },
  });

  let bound: Awaited<ReturnType<typeof bind>>;
  try {
    bound = await bind(server, settings, credentials);
  } catch (err) {
    process.stderr.write(`cannot listen: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  cleanupSocket = bound.cleanup;

  process.stdout.write(handshakeLine(bound.network, bound.address, certDer));
  setImmediate(startLoading);
  // The host reads stdout as protocol: anything a dependency prints later goes to the log instead.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) =>
    (process.stderr.write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest)) as typeof process.stdout.write;

  // With the host gone its pipes are too: a failed write to them must not become an uncaught error (whose
  // report would be one more failed write, in a loop that spins the CPU).
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  // Terraform passes Ctrl-C to the whole process group but then stops providers through the protocol itself
  // (StopProvider, Shutdown), as go-plugin servers expect: ignore SIGINT, honour SIGTERM.
  process.on('SIGINT', () => log('[DEBUG] interrupt received; waiting for Terraform to stop the provider'));
  process.on('SIGTERM', () => void finish(0));
  // go-plugin has no heartbeat: a Terraform killed outright (SIGKILL, OOM) never calls Shutdown, and the provider
  // would serve on, holding its child token, until the machine restarts. Once orphaned (re-parented), it shuts
  // down as if told to, which also revokes that token.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid === parent) return;
    log(`[WARN] Terraform (pid ${parent}) is gone without stopping the provider; shutting down`);
    void finish(0);
  }, PARENT_CHECK_MS).unref();
  process.on('uncaughtException', (err) => log(`[ERROR] uncaught: ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (err) => log(`[ERROR] unhandled rejection: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));
  process.on('exit', () => cleanupSocket());
}
