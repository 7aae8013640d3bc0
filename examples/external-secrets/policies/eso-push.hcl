# The push store's token: PushSecret writes under secret/pushed/ and may delete what it pushed.
path "secret/data/pushed/*" {
  capabilities = ["create", "read", "update"]
}
path "secret/metadata/pushed/*" {
  capabilities = ["read", "delete"]
}
