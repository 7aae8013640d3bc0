/**
 * A CDKTF app using coffer's bindings: reads a KV secret with a data source, takes database credentials from
 * an ephemeral resource, and configures a `terraform_data` resource with both. Synthesize it with
 * `node dist/examples/cdktf/main.js` (no cdktf CLI), then run terraform in cdktf.out/stacks/coffer-example.
 */
import { App, DataResource, TerraformStack, TerraformVariable } from 'cdktf';
import type { Construct } from 'constructs';
import { dataCofferKvSecretV2, EphemeralCofferDatabaseCredentials, provider } from 'coffer/cdktf';

class CofferExample extends TerraformStack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    // Terraform variables rather than values fixed at synth time: one synthesized stack serves every setup.
    const setting = (name: string, description: string, fallback: string) =>
      new TerraformVariable(this, name, { type: 'string', default: fallback, description }).stringValue;

    // Address and token come from COFFER_ADDR and COFFER_TOKEN (or VAULT_*), as with the HCL provider block.
    new provider.CofferProvider(this, 'coffer', { maxLeaseTtlSeconds: 1200 });

    const config = new dataCofferKvSecretV2.DataCofferKvSecretV2(this, 'config', {
      mount: setting('kv_mount', 'KV v2 mount holding the app settings', 'secret'),
      name: setting('kv_name', 'Secret with the app settings', 'my-app/config'),
    });

    // Issued when Terraform opens it (in plan and again in apply) and dropped when it closes; the username and
    // password reach neither plan nor state.
    const db = new EphemeralCofferDatabaseCredentials(this, 'db', {
      mount: setting('db_mount', 'Database secrets engine mount', 'database'),
      role: setting('db_role', 'Role issuing the migration user', 'my-api-readonly'),
    });

    new DataResource(this, 'migration', {
      // A data source's values are kept in state, so a change to the settings replaces this resource and runs
      // the provisioner again.
      input: config.data,
      // Ephemeral values are accepted in provisioners (not in arguments such as `input`).
      provisioners: [
        {
          type: 'local-exec',
          command: "psql -v ON_ERROR_STOP=1 -tAc 'select current_user'",
          environment: {
            PGHOST: setting('pg_host', 'PostgreSQL host', '127.0.0.1'),
            PGDATABASE: setting('pg_database', 'PostgreSQL database', 'postgres'),
            PGUSER: db.username,
            PGPASSWORD: db.password,
          },
        },
      ],
    });
  }
}

const app = new App();
new CofferExample(app, 'coffer-example');
app.synth();
