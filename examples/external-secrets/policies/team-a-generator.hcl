# team-a's own token (Secret coffer-token in namespace team-a) for its Webhook generator.
path "database/creds/team-a-app" {
  capabilities = ["read"]
}

# TLS certificates for team-a's services (Webhook generator app-tls-cert).
path "pki_int/issue/team-a-tls" {
  capabilities = ["update"]
}
