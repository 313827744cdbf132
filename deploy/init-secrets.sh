#!/usr/bin/env bash
# Writes the secrets docker-compose.yml mounts, once, into deploy/secrets/
# (or the folder given): the NATS users' passwords, ledgerd's copy of its
# own, the mailer's, and ledgerd's principals file with a Global
# Administrator token for the tenant "default". Never committed
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
echo "secrets written to $(cd "$dir" && pwd); the admin token is in $dir/admin-token"
