package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/licensing-ledger/ledger/checkpoint"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// checkpointKeyFile returns the signing key's file: --checkpoint-key, or
// checkpoint.key in the data directory, beside the principals file. The
// key never goes in NATS or KurrentDB: whoever can write the store must
// not be able to sign a history.
func checkpointKeyFile(cfg config) string {
	if cfg.checkpointKey != "" {
		return cfg.checkpointKey
	}
	return filepath.Join(cfg.data, "checkpoint.key")
}

// startCheckpoints opens the checkpoint stream and the signing key (created
// on the first run, mode 0600) and runs the issuer over the store until
// the returned stop is called, which issues a last round and waits for it.
func startCheckpoints(ctx context.Context, cfg config, nc *nats.Conn, store events.Store, log *slog.Logger) (*checkpoint.Issuer, func(), error) {
	js, err := natsjs.New(nc)
	if err != nil {
		return nil, nil, err
	}
	cps, err := jetstream.OpenCheckpoints(ctx, js, cfg.replicas)
	if err != nil {
		return nil, nil, err
	}
	path := checkpointKeyFile(cfg)
	signer, created, err := checkpoint.LoadOrCreateKey(path, cfg.checkpointOrigin)
	if err != nil {
		return nil, nil, fmt.Errorf("the checkpoint signing key: %w", err)
	}
	if created {
		log.Info("created the checkpoint signing key", "file", path)
	}
	iss := checkpoint.NewIssuer(checkpoint.IssuerConfig{Store: store, Log: cps, Signer: signer, Name: cfg.checkpointOrigin, Interval: cfg.checkpointInterval, Logger: log})
	log.Info("signing checkpoints", "origin", iss.Origin("<tenant>"), "key", signer.VerifierKey(), "stream", jetstream.CheckpointStreamName, "subjects", jetstream.CheckpointSubjects, "interval", cfg.checkpointInterval)
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := iss.Run(runCtx); err != nil && runCtx.Err() == nil {
			log.Error("checkpoints stopped: no more are signed until a restart", "err", err)
		}
	}()
	return iss, func() { cancel(); <-done }, nil
}

// checkCheckpoints refuses checkpoint flags that cannot work: the origin
// name is a signed-note key name (no spaces or +) and the first part of
// every origin; the interval must be positive.
func (c config) checkCheckpoints() error {
	name := c.checkpointOrigin
	switch {
	case name == "" || strings.ContainsAny(name, " +\t\n") || strings.HasSuffix(name, "/"):
		return fmt.Errorf("--checkpoint-origin %q: want a name without spaces, + or a trailing /, such as ledger.example.com", name)
	case c.checkpointInterval <= 0:
		return fmt.Errorf("--checkpoint-interval must be positive, not %s", c.checkpointInterval)
	}
	return nil
}
