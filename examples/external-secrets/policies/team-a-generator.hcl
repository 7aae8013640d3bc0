# team-a's own token (Secret coffer-token in namespace team-a) for its Webhook generator.
path "database/creds/team-a-app" {
  capabilities = ["read"]
}
