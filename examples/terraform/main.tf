# coffer set up declaratively: a database mount configured for PostgreSQL, a role and the policy to use it, a
# KV v2 secret read back by a data source, and ephemeral database credentials handed to a write-only argument.
# Secrets enter through ephemeral variables and leave through write-only arguments, so neither
# terraform.tfstate nor a saved plan holds them.
#
#   export COFFER_ADDR=http://127.0.0.1:8200 COFFER_TOKEN=...
#   export TF_VAR_pg_database=app TF_VAR_pg_admin=coffer_admin TF_VAR_pg_admin_password=...
#   terraform apply

terraform {
  required_version = ">= 1.11"
  required_providers {
    coffer = { source = "terraform.local/coffer/coffer" }
  }
}

variable "pg_host" {
  type    = string
  default = "127.0.0.1:5432"
}

variable "pg_database" {
  type = string
}

variable "pg_admin" {
  description = "A PostgreSQL role with CREATEROLE that coffer creates users with."
  type        = string
}

variable "pg_admin_password" {
  type      = string
  ephemeral = true
  sensitive = true
}

variable "pg_admin_password_version" {
  description = "Raise to send a new admin password to coffer."
  type        = number
  default     = 1
}

variable "prefix" {
  description = "Prefix of the mount paths and policy name."
  type        = string
  default     = "example"
}

provider "coffer" {}

resource "coffer_mount" "db" {
  path        = "${var.prefix}-db"
  type        = "database"
  description = "Dynamic PostgreSQL credentials"
}

resource "coffer_mount" "kv" {
  path    = "${var.prefix}-kv"
  type    = "kv"
  options = { version = "2" }
}

resource "coffer_database_connection" "pg" {
  backend       = coffer_mount.db.path
  name          = "app"
  allowed_roles = ["app"]
  postgresql {
    connection_url      = "postgresql://{{username}}:{{password}}@${var.pg_host}/${var.pg_database}?sslmode=disable"
    username            = var.pg_admin
    password_wo         = var.pg_admin_password
    password_wo_version = var.pg_admin_password_version
  }
}

resource "coffer_database_role" "app" {
  backend               = coffer_mount.db.path
  name                  = "app"
  db_name               = coffer_database_connection.pg.name
  creation_statements   = ["CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"]
  revocation_statements = ["DROP ROLE IF EXISTS \"{{name}}\";"]
  default_ttl           = 600
  max_ttl               = 3600
}

data "coffer_policy_document" "app" {
  rule {
    path         = "${coffer_mount.db.path}/creds/${coffer_database_role.app.name}"
    capabilities = ["read"]
  }
  rule {
    path         = "${coffer_mount.kv.path}/data/app/*"
    capabilities = ["read"]
  }
}

resource "coffer_policy" "app" {
  name   = "${var.prefix}-app"
  policy = data.coffer_policy_document.app.hcl
}

# Plain settings: kept in state like any argument, and read back by the data source below.
resource "coffer_kv_secret_v2" "config" {
  mount     = coffer_mount.kv.path
  name      = "app/config"
  data_json = jsonencode({ replicas = 3, log_level = "info" })
}

data "coffer_kv_secret_v2" "config" {
  mount = coffer_kv_secret_v2.config.mount
  name  = coffer_kv_secret_v2.config.name
}

# Credentials issued for this run only: opened in plan and again in apply, revoked when each phase ends. The
# mount comes from the role's id, known only once the role exists: on the first run Terraform then opens them
# in apply only (depends_on does not hold an ephemeral resource back).
ephemeral "coffer_database_credentials" "migrate" {
  mount = split("/roles/", coffer_database_role.app.id)[0]
  role  = coffer_database_role.app.name
}

# An ephemeral value may only go to a write-only argument: here the login the last apply used, recorded for an
# audit trail (it is revoked when the apply ends). data_json_wo is written when its version changes.
resource "coffer_kv_secret_v2" "last_migration_login" {
  mount                = coffer_mount.kv.path
  name                 = "app/last-migration-login"
  data_json_wo         = jsonencode({ username = ephemeral.coffer_database_credentials.migrate.username, password = ephemeral.coffer_database_credentials.migrate.password })
  data_json_wo_version = 1
}

output "replicas" {
  value     = data.coffer_kv_secret_v2.config.data["replicas"]
  sensitive = true
}

output "policy" {
  value = coffer_policy.app.name
}
