# The ClusterSecretStore token's policy. {{kubernetes.namespace}} is the namespace of the ExternalSecret being
# synced (sent by ESO in X-Coffer-Kubernetes-Namespace): namespace team-a can read secret/team-a/* and nothing
# else; a request without a namespace gets nothing from these rules.
path "secret/data/{{kubernetes.namespace}}/*" {
  capabilities = ["read"]
}
