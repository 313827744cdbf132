#!/usr/bin/env bash
# Installs what the build and the tests need beyond Go itself:
# protoc (Debian's protobuf-compiler), protoc-gen-go at the version of
# google.golang.org/protobuf pinned in go.mod, and the nats-server binary at
# the version of github.com/nats-io/nats-server/v2 pinned in go.mod (the
# e2e tests run it as an external server), Chromium (Debian's chromium)
# for the console's browser tests and Debian's docker-compose. Safe to run
# again.
set -euo pipefail
cd "$(dirname "$0")/.."
# Debian packages: protoc, docker-compose, which validates
# docker-compose.yml (no Docker engine runs here), and chromium for the
# console's browser tests; one apt-get run for what is missing.
missing=()
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
version=$(go list -m -f '{{.Version}}' google.golang.org/protobuf)
gobin="$(go env GOPATH)/bin"
if ! "$gobin/protoc-gen-go" --version 2>/dev/null | grep -q "${version}"; then
  GOBIN="$gobin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@${version}"
fi
nats_version=$(go list -m -f '{{.Version}}' github.com/nats-io/nats-server/v2)
if ! "$gobin/nats-server" --version 2>/dev/null | grep -q "${nats_version}"; then
  GOBIN="$gobin" go install "github.com/nats-io/nats-server/v2@${nats_version}"
fi
