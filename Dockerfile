# The ledgerd image: static ledgerd and ledgerctl on an empty base, run as a
# user without privileges.
#
#   docker build -t licensing-ledger .
#   docker run --rm -p 127.0.0.1:8080:8080 -v ledger-data:/data licensing-ledger
#
# The binaries are built by scripts/build.sh, as CI builds them
# (e2e/image_test.go). The healthcheck asks ledgerd's /readyz through
# ledgerctl: the image has no shell and no curl.

FROM golang:1.26.8-trixie AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN ./scripts/build.sh /out && mkdir -p /out/data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/ledgerd /out/ledgerctl /usr/local/bin/
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
VOLUME ["/data"]
EXPOSE 8080 4222
ENV LEDGER_SERVER=http://127.0.0.1:8080
HEALTHCHECK --interval=10s --timeout=6s --start-period=30s --retries=3 CMD ["/usr/local/bin/ledgerctl", "ready"]
ENTRYPOINT ["/usr/local/bin/ledgerd", "--data", "/data", "--listen", "0.0.0.0:8080"]
