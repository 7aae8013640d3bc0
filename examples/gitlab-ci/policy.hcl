# What a pipeline of mygroup/myproject may read: its own folder of the KV v2 mount `secret/`, nothing else.
path "secret/data/ci/mygroup/myproject/*" {
  capabilities = ["read"]
}
