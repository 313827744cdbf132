#!/usr/bin/env bash
# The whole test suite, as CI runs it: tools, generated code check, vet,
# then every test with the race detector.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-tools.sh
./scripts/check-generated.sh
unformatted=$(gofmt -l $(git ls-files '*.go' | grep -v '\.pb\.go$'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi
go vet ./...
go test -race -count=1 -timeout 20m ./...
# Brief fuzzing of the decoders that face untrusted input (L7).
go test -run='^$' -fuzz=FuzzDecodeCommand -fuzztime=10s ./infra/httpapi/
go test -run='^$' -fuzz=FuzzDecode -fuzztime=5s ./events/
go test -run='^$' -fuzz=FuzzOpenCheckpoint -fuzztime=5s ./checkpoint/
go test -run='^$' -fuzz=FuzzDecodeProof -fuzztime=5s ./checkpoint/
