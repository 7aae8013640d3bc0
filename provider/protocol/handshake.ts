/**
 * go-plugin's launch contract, read from the environment Terraform gives a plugin process, and the one line
 * the plugin answers with on stdout.
 */
import os from 'node:os';

export const MAGIC_COOKIE_KEY = 'TF_PLUGIN_MAGIC_COOKIE';
export const MAGIC_COOKIE_VALUE = 'd602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2';
export const CORE_PROTOCOL_VERSION = 1;
export const APP_PROTOCOL_VERSION = 6;

export interface LaunchSettings {
  /** PEM of the host's client certificate; absent when TLS is off. */
  clientCertPem: string | null;
  transport: 'unix' | 'tcp';
  socketDir: string;
  minPort: number;
  maxPort: number;
}

export class LaunchError extends Error {}

/**
 * Reads and checks the launch environment. Throws a LaunchError whose message is meant for a person who
 * started the program by hand.
 */
export function readLaunchSettings(env: NodeJS.ProcessEnv): LaunchSettings {
  if (env[MAGIC_COOKIE_KEY] !== MAGIC_COOKIE_VALUE) {
    throw new LaunchError(
      'This program is a Terraform provider plugin: Terraform starts it. Run `terraform plan` or `terraform apply` ' +
        'with this provider configured instead of executing it directly.',
    );
  }
  const offered = (env.PLUGIN_PROTOCOL_VERSIONS ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  // Without the variable go-plugin hosts mean their single default version, which for Terraform is ours.
  if (offered.length && !offered.includes(String(APP_PROTOCOL_VERSION))) {
    throw new LaunchError(
      `This provider speaks plugin protocol ${APP_PROTOCOL_VERSION}; the host offered ${offered.join(', ')}. Use Terraform 1.0 or later.`,
    );
  }
  const minPort = port(env.PLUGIN_MIN_PORT, 10000, 'PLUGIN_MIN_PORT');
  const maxPort = port(env.PLUGIN_MAX_PORT, 25000, 'PLUGIN_MAX_PORT');
  if (minPort > maxPort) throw new LaunchError(`PLUGIN_MIN_PORT (${minPort}) is above PLUGIN_MAX_PORT (${maxPort})`);
  const tlsOff = env.TF_DISABLE_PLUGIN_TLS === '1' || env.TF_DISABLE_PLUGIN_TLS === 'true';
  const clientCertPem = tlsOff ? null : env.PLUGIN_CLIENT_CERT?.trim() ? env.PLUGIN_CLIENT_CERT : null;
  if (!tlsOff && !clientCertPem) {
    throw new LaunchError('PLUGIN_CLIENT_CERT is not set: the host must send its client certificate (or set TF_DISABLE_PLUGIN_TLS=1)');
  }
  return {
    clientCertPem,
    transport: process.platform === 'win32' || env.COFFER_PLUGIN_TRANSPORT === 'tcp' ? 'tcp' : 'unix',
    socketDir: env.PLUGIN_UNIX_SOCKET_DIR || os.tmpdir(),
    minPort,
    maxPort,
  };
}

function port(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new LaunchError(`${name} must be a port number, got "${raw}"`);
  return n;
}

/** `CORE|APP|NETWORK|ADDRESS|grpc|CERT`; go-plugin decodes CERT with unpadded standard base64. */
export function handshakeLine(network: 'unix' | 'tcp', address: string, certDer: Buffer | null): string {
  const cert = certDer ? certDer.toString('base64').replace(/=+$/, '') : '';
  return `${CORE_PROTOCOL_VERSION}|${APP_PROTOCOL_VERSION}|${network}|${address}|grpc|${cert}\n`;
}
