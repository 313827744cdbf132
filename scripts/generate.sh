#!/usr/bin/env bash
# Regenerates the Go code for the protobuf definitions in proto/.
# Needs protoc (Debian: protobuf-compiler) and protoc-gen-go at the version
# pinned in go.mod; scripts/install-tools.sh installs both.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOPATH)/bin:$PATH"
rm -f proto/ledgerv1/*.pb.go
protoc --proto_path=proto \
  --go_out=. --go_opt=module=github.com/licensing-ledger/ledger \
  proto/ledger/v1/*.proto
