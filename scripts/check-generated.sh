#!/usr/bin/env bash
# Fails if the committed generated code differs from what proto/ generates.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/generate.sh
if ! git diff --quiet -- proto/ledgerv1 || [ -n "$(git status --porcelain -- proto/ledgerv1)" ]; then
  echo "proto/ledgerv1 is not up to date with proto/ledger/v1: run ./scripts/generate.sh and commit the result" >&2
  git status --short -- proto/ledgerv1 >&2
  exit 1
fi
echo "generated code is current"
