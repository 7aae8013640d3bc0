#!/bin/sh
# Run once by an operator (COFFER_ADDR and an admin COFFER_TOKEN set): trust GitLab's ID tokens and let the
# pipelines of mygroup/myproject on main or release/* read their own secrets.
set -eu
GITLAB_URL=${GITLAB_URL:-https://gitlab.example.com}

coffer auth enable jwt
# coffer reads GitLab's /.well-known/openid-configuration now and its JWKS at the first login (then caches it).
coffer write auth/jwt/config oidc_discovery_url="$GITLAB_URL" bound_issuer="$GITLAB_URL"
coffer policy write myproject-ci-read policy.hcl
coffer write auth/jwt/role/myproject-ci - < role.json
coffer kv put secret/ci/mygroup/myproject/deploy api_key=change-me
