#!/usr/bin/env bash
# The requests ESO makes with the shipped stores, replayed with curl against a running coffer, so you can see
# what each manifest does without a cluster:
#
#   npm start -- -dev-root-token-id=root                     # another terminal: a dev server on :8200
#   COFFER_ADDR=http://127.0.0.1:8200 COFFER_TOKEN=root examples/external-secrets/walkthrough.sh
#
# Optional: COFFER_EXAMPLE_PG='postgresql://{{username}}@127.0.0.1:5432/postgres' (a connection_url template;
# COFFER_EXAMPLE_PG_USER, default postgres, and COFFER_EXAMPLE_PG_PASSWORD) also runs the Webhook generator
# against that PostgreSQL (it creates users and revokes them at the end).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
coffer="node $here/../../bin/coffer.js"
: "${COFFER_ADDR:?set COFFER_ADDR}" "${COFFER_TOKEN:?set COFFER_TOKEN (a root or admin token)}"
export COFFER_ADDR COFFER_TOKEN
eso="$COFFER_ADDR/eso/v1"
step() { printf '\n== %s\n' "$*"; }
# What ESO's webhook provider sends for the ClusterSecretStore "coffer" (values in the url query-escaped).
get() { # TOKEN NAMESPACE KEY [PROPERTY] [VERSION]
  curl -sS -H "X-Vault-Token: $1" -H "X-Coffer-Kubernetes-Namespace: $2" \
    -G "$eso/kv/secret" --data-urlencode "key=$3" --data-urlencode "property=${4:-}" --data-urlencode "version=${5:-}" \
    -w ' [%{http_code}]\n'
}

step "policies and tokens (the stores' Secrets would hold these tokens)"
for p in eso-tenants eso-push eso-vault; do $coffer policy write "$p" "$here/policies/$p.hcl"; done
tenants=$($coffer token create -policy=eso-tenants -ttl=1h -field=token)
pusher=$($coffer token create -policy=eso-push -ttl=1h -field=token)

step "secrets"
$coffer kv put secret/team-a/db username=app password=first-pw >/dev/null
$coffer kv put secret/team-a/db username=app 'password=s3cr3t' >/dev/null
$coffer kv put secret/team-a/app - >/dev/null <<'JSON'
{"ratio": 1.5, "debug": true, "database": {"host": "db.internal", "port": 5432}}
JSON

step "data[].remoteRef (jsonPath \$.data): one value, always a string"
get "$tenants" team-a team-a/db password
get "$tenants" team-a team-a/app ratio
get "$tenants" team-a team-a/app database.host
get "$tenants" team-a team-a/db password 1

step "dataFrom[].extract: every key as a flat object of strings"
get "$tenants" team-a team-a/app

step "namespace team-b asking for team-a's secret: 403 (the reason phrase is what ESO shows)"
curl -sS -o /dev/null -D - -H "X-Vault-Token: $tenants" -H "X-Coffer-Kubernetes-Namespace: team-b" \
  "$eso/kv/secret?key=team-a%2Fdb&property=password&version=" | head -1

step "a missing key: 404, which ESO reads as 'secret does not exist'"
get "$tenants" team-a team-a/nothing-here

step "PushSecret (store coffer-push): one key, then the whole Secret"
curl -sS -X PUT -H "X-Vault-Token: $pusher" -H 'Content-Type: text/plain' --data-binary 'k-123' \
  "$eso/kv/secret?key=pushed/team-a-api&property=api-key" -w ' [%{http_code}]\n'
curl -sS -X PUT -H "X-Vault-Token: $pusher" -H 'Content-Type: text/plain' --data-binary '{"api-key":"k-123","region":"eu-1"}' \
  "$eso/kv/secret?key=pushed/team-a-api-all" -w ' [%{http_code}]\n'
$coffer kv get -format=json secret/pushed/team-a-api-all | jq -c .data.data

step "deletion: 204, then 404 (both count as success for ESO)"
for _ in 1 2; do
  curl -sS -o /dev/null -X DELETE -H "X-Vault-Token: $pusher" "$eso/kv/secret?key=pushed/team-a-api-all" -w '%{http_code}\n'
done

if [[ -n "${COFFER_EXAMPLE_PG:-}" ]]; then
  step "Webhook generator: database credentials, the previous pair revoked after the grace period"
  $coffer secrets enable database >/dev/null 2>&1 || true
  $coffer write database/config/example plugin_name=postgresql-database-plugin \
    connection_url="$COFFER_EXAMPLE_PG" username="${COFFER_EXAMPLE_PG_USER:-postgres}" \
    password="${COFFER_EXAMPLE_PG_PASSWORD:-}" allowed_roles=team-a-app >/dev/null
  $coffer write database/roles/team-a-app db_name=example default_ttl=1h \
    creation_statements="CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';" \
    revocation_statements='DROP ROLE IF EXISTS "{{name}}";' >/dev/null
  gen() { curl -sS -X POST -H "X-Vault-Token: $COFFER_TOKEN" -H 'X-Coffer-Owner: team-a/app-db' \
    -H 'X-Coffer-Revoke-Grace: 2s' "$eso/generate/database/creds/team-a-app"; }
  first=$(gen); echo "$first" | jq -c '{username: .data.username, lease_id, revokes}'
  second=$(gen); echo "$second" | jq -c '{username: .data.username, lease_id, revokes}'
  sleep 3
  echo "the first lease after the grace period:"
  $coffer write sys/leases/lookup lease_id="$(echo "$first" | jq -r .lease_id)" 2>&1 | grep -o 'invalid lease' || true
  $coffer lease revoke "$(echo "$second" | jq -r .lease_id)"
fi
