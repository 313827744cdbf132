#!/usr/bin/env bash
# Writes the secrets docker-compose.yml mounts, once, into deploy/secrets/
# (or the folder given): the NATS users' passwords, ledgerd's copy of its
# own, the mailer's, ledgerd's principals file with a Global
# Administrator token for the tenant "default", and for the kurrentdb
# profile a CA, the node's certificate (openssl), the admin password and
# ledgerd's connection string. Never committed
# (.gitignore); the folder is readable by its owner only. Run again with
# --force to replace them.
set -euo pipefail
cd "$(dirname "$0")"
dir="secrets"
force=false
for arg in "$@"; do
  case "$arg" in
    --force) force=true ;;
    *) dir="$arg" ;;
  esac
done
if [ -e "$dir/nats-passwords.conf" ] && [ "$force" != true ]; then
  echo "$dir already holds secrets; run with --force to replace them" >&2
  exit 1
fi
mkdir -p "$dir"
chmod 700 "$dir"
random() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
ledger=$(random)
mailer=$(random)
admin=$(random)
umask 022 # the files are read by the containers' users; the folder guards them
printf 'LEDGER_PASSWORD: "%s"\nMAILER_PASSWORD: "%s"\n' "$ledger" "$mailer" > "$dir/nats-passwords.conf"
printf '%s\n' "$ledger" > "$dir/ledger-nats-password"
printf '%s\n' "$mailer" > "$dir/mailer-nats-password"
printf '{"principals": [{"id": "admin@default", "tenant": "default", "roles": ["GlobalAdministrator"], "tokenSha256": "%s"}]}\n' \
  "$(printf %s "$admin" | sha256sum | cut -d' ' -f1)" > "$dir/principals.json"
printf '%s\n' "$admin" > "$dir/admin-token"
# KurrentDB (the kurrentdb profile): a CA of its own, the node's
# certificate for the host name "kurrentdb", its admin password, and
# ledgerd's connection string over TLS.
if ! command -v openssl >/dev/null 2>&1; then
  echo "secrets written to $(cd "$dir" && pwd), without KurrentDB's (no openssl); the admin token is in $dir/admin-token"
  exit 0
fi
kurrent=$(random)
mkdir -p "$dir/kurrentdb-ca"
openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=ledger KurrentDB CA" \
  -keyout "$dir/kurrentdb-ca.key" -out "$dir/kurrentdb-ca/ca.crt" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj "/CN=kurrentdb-node" \
  -keyout "$dir/kurrentdb-node.key" -out "$dir/kurrentdb-node.csr" >/dev/null 2>&1
printf 'subjectAltName=DNS:kurrentdb,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' > "$dir/kurrentdb-node.ext"
openssl x509 -req -in "$dir/kurrentdb-node.csr" -CA "$dir/kurrentdb-ca/ca.crt" -CAkey "$dir/kurrentdb-ca.key" \
  -CAcreateserial -days 825 -extfile "$dir/kurrentdb-node.ext" -out "$dir/kurrentdb-node.crt" >/dev/null 2>&1
rm -f "$dir/kurrentdb-node.csr" "$dir/kurrentdb-node.ext" "$dir/kurrentdb-ca/ca.srl" "$dir/kurrentdb-ca.srl"
printf 'KURRENTDB_DEFAULT_ADMIN_PASSWORD=%s\n' "$kurrent" > "$dir/kurrentdb.env"
printf 'esdb://admin:%s@kurrentdb:2113?tls=true&tlsCAFile=/run/secrets/kurrentdb-ca.crt\n' "$kurrent" > "$dir/ledger-kurrentdb-url"
echo "secrets written to $(cd "$dir" && pwd); the admin token is in $dir/admin-token"
