# The token of the coffer-vault store (ESO's vault provider): it sends no Kubernetes namespace, so its paths are
# plain. Give such a store to one team only (a SecretStore in its namespace) or to readers of shared paths.
path "secret/data/team-a/*" {
  capabilities = ["read"]
}
