/**
 * Starting and stopping a coffer server: storage, core, listeners, dev mode, graceful shutdown.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { authMethods } from '../auth/index.js';
import { Core } from '../core/core.js';
import { cubbyholeFactory } from '../engines/cubbyhole/index.js';
import { secretEngines } from '../engines/index.js';
import { openStorage } from '../storage/open.js';
import { DEFAULT_MAX_REQUEST_SIZE, type ServerConfig } from './config.js';
import { externalSecretsExtension } from '../../external-secrets/extension.js';
import type { ServerExtension } from './extension.js';
import { mountExtensions } from './extension-host.js';
import { createListener, splitAddress, type Listener } from './http.js';

/** Served by every listener beside /v1/; each reaches secrets only through its host's `handle` (extension.ts). */
const EXTENSIONS: readonly ServerExtension[] = [externalSecretsExtension];

export interface DevOptions {
  rootTokenId?: string;
  listenAddress?: string;
  /** Keep the dev database in this file instead of memory. */
  storagePath?: string;
}

export interface RunningServer {
  core: Core;
  /** `http://127.0.0.1:PORT` (or https) for each listener, in config order. */
  addresses: string[];
  /** Dev mode only. */
  rootToken?: string;
  unsealKey?: string;
  close(): Promise<void>;
}

export function createLogger(level = 'info') {
  // Server logs go to stderr; nothing here ever logs a token or a secret value.
  return pino({ level, base: undefined }, pino.destination(2));
}

export async function startServer(config: ServerConfig, dev?: DevOptions): Promise<RunningServer> {
  const logger = createLogger(config.logLevel);
  const storage = await openStorage(config.storage, { info: (m) => logger.info(m), warn: (m) => logger.warn(m) });
  const core = new Core({
    storage,
    storageType: config.storage.type,
    defaultLeaseTTL: config.defaultLeaseTTL,
    maxLeaseTTL: config.maxLeaseTTL,
    loginRateLimit: config.loginRateLimit,
    userLockout: config.userLockout,
    initialMounts: dev ? [{ path: 'secret/', type: 'kv', options: { version: '2' }, description: 'key/value secret storage' }] : [],
    logger: { info: (m) => logger.info(m), warn: (m) => logger.warn(m), error: (m) => logger.error(m) },
    secretEngines,
    authMethods,
    cubbyhole: cubbyholeFactory,
  });

  let rootToken: string | undefined;
  let unsealKey: string | undefined;
  if (dev) {
    const { keys } = await core.initialize(1, 1);
    unsealKey = keys[0].toString('base64');
    await core.submitUnsealShare(keys[0]);
    rootToken = await core.createRootToken(dev.rootTokenId ?? `cfs.${randomBytes(18).toString('base64url')}`);
  }

  const apps: Listener[] = [];
  const addresses: string[] = [];
  const routes = mountExtensions(core, EXTENSIONS);
  try {
    for (const listener of config.listeners) {
      const app = await createListener(core, listener, routes);
      const { host, port } = splitAddress(listener.address);
      apps.push(app);
      await app.listen(host, port);
      const bound = app.server.address() as AddressInfo;
      const shownHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
      addresses.push(`${listener.tlsDisable ? 'http' : 'https'}://${shownHost}:${bound.port}`);
    }
  } catch (err) {
    await Promise.all(apps.map((a) => a.close()));
    await core.shutdown();
    throw err;
  }

  let closing: Promise<void> | null = null;
  return {
    core,
    addresses,
    rootToken,
    unsealKey,
    close() {
      // In-flight requests finish; new connections are refused; then keys are wiped and storage closed.
      closing ??= (async () => {
        await Promise.all(apps.map((a) => a.close()));
        await core.shutdown();
      })();
      return closing;
    },
  };
}

export function devConfig(dev: DevOptions): ServerConfig {
  return {
    listeners: [{ address: dev.listenAddress ?? '127.0.0.1:8200', tlsDisable: true, maxRequestSize: DEFAULT_MAX_REQUEST_SIZE }],
    storage: { type: 'sqlite', path: dev.storagePath ?? ':memory:' },
    defaultLeaseTTL: 768 * 3600,
    maxLeaseTTL: 768 * 3600,
    ui: false,
    logLevel: 'info',
  };
}
