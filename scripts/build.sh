#!/usr/bin/env bash
# Builds the static release binaries, ledgerd and ledgerctl, into the folder
# given (default ./bin): no cgo, no local paths, no debug symbols. The
# Dockerfile runs exactly this, and so does e2e/image_test.go.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-bin}"
mkdir -p "$out"
CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$out/" ./cmd/ledgerd ./cmd/ledgerctl
