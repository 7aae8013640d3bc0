/**
 * What every API command shares: the connection and output flags (as the vault CLI names them) and the client
 * built from flags then environment then token helper.
 */
import type { CofferClient } from '../client/client.js';
import { type FlagSpec, type ParsedArgs, UsageError, parseFlags } from '../shared/flags.js';
import { type Format, parseFormat } from './output.js';

export const CONNECTION_FLAGS: FlagSpec[] = [
  { name: 'address', kind: 'string' },
  { name: 'ca-cert', kind: 'string' },
  { name: 'client-cert', kind: 'string' },
  { name: 'client-key', kind: 'string' },
  { name: 'tls-skip-verify', kind: 'bool' },
  { name: 'namespace', kind: 'string' },
  { name: 'non-interactive', kind: 'bool' },
  { name: 'wrap-ttl', kind: 'string' },
];

export const OUTPUT_FLAGS: FlagSpec[] = [
  { name: 'format', kind: 'string' },
  { name: 'field', kind: 'string' },
];

export const CONNECTION_HELP = `Connection options (also COFFER_ADDR, COFFER_TOKEN, COFFER_CACERT, COFFER_SKIP_VERIFY, or the VAULT_ names):
  -address=ADDR          Server address (default http://127.0.0.1:8200).
  -ca-cert=FILE          CA certificate (PEM) to verify the server's TLS certificate.
  -client-cert=FILE      Client certificate for TLS client authentication.
  -client-key=FILE       Key of the client certificate.
  -tls-skip-verify       Do not verify the server's certificate (insecure).
  -wrap-ttl=DURATION     Wrap the response in a single-use token valid for DURATION (also COFFER_WRAP_TTL);
                         prints the wrapping token instead of the response ("coffer unwrap" reads it).
`;

export const OUTPUT_HELP = `Output options:
  -format=FORMAT         table (default), json or yaml.
  -field=NAME            Print only this field, raw, without a trailing newline.
`;

export interface CommandContext {
  args: ParsedArgs;
  format: Format;
  field: string | undefined;
  client(): Promise<CofferClient>;
}

export function commandContext(argv: string[], specs: FlagSpec[]): CommandContext {
  const args = parseFlags(argv, [...CONNECTION_FLAGS, ...OUTPUT_FLAGS, ...specs]);
  const f = args.flags;
  if (typeof f.namespace === 'string' && f.namespace !== '') throw new UsageError('namespaces are not supported by coffer');
  let cached: CofferClient | undefined;
  return {
    args,
    format: parseFormat(f.format as string | undefined),
    field: f.field as string | undefined,
    async client() {
      if (cached) return cached;
      const { CofferClient } = await import('../client/client.js');
      const { optionsFromEnv } = await import('../client/env.js');
      const env = optionsFromEnv();
      cached = new CofferClient({
        ...env,
        address: (f.address as string | undefined) ?? env.address,
        caCertFile: (f['ca-cert'] as string | undefined) ?? env.caCertFile,
        clientCertFile: (f['client-cert'] as string | undefined) ?? env.clientCertFile,
        clientKeyFile: (f['client-key'] as string | undefined) ?? env.clientKeyFile,
        skipVerify: (f['tls-skip-verify'] as boolean | undefined) ?? env.skipVerify,
        wrapTTL: (f['wrap-ttl'] as string | undefined) ?? env.wrapTTL,
      });
      return cached;
    },
  };
}
