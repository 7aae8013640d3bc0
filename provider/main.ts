/** Entry point Terraform launches (through bin/terraform-provider-coffer). */
import { serve, stderrLog } from './protocol/serve.js';

// The provider module (zod schemas, the HTTP client) loads after the handshake: see serve().
await serve(async () => (await import('./provider.js')).cofferProvider(process.env, stderrLog));
