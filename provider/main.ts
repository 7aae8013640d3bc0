/** Entry point Terraform launches (through bin/terraform-provider-coffer). */
import { serve, stderrLog } from './protocol/serve.js';
import { cofferProvider } from './provider.js';

await serve(cofferProvider(process.env, stderrLog));
