package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

// certReload is how often the certificate files are looked at for a
// change, besides SIGHUP.
const certReload = 5 * time.Second

// certificate serves the API's TLS certificate from --tls-cert and
// --tls-key, and loads them again when they change (a renewal) or on
// SIGHUP, without a restart. A pair that does not load is logged and the
// previous one kept.
type certificate struct {
	certFile, keyFile string
	log               *slog.Logger
	current           atomic.Pointer[tls.Certificate]
	stamp             string // the files' sizes and modification times at the last load
}

// loadCertificate loads the pair once; it fails if the pair does not load.
func loadCertificate(certFile, keyFile string, log *slog.Logger) (*certificate, error) {
	c := &certificate{certFile: certFile, keyFile: keyFile, log: log}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

// load reads the pair and makes it the one served.
func (c *certificate) load() error {
	stamp := c.fileStamp()
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("the API's TLS certificate (--tls-cert %s, --tls-key %s): %w", c.certFile, c.keyFile, err)
	}
	c.current.Store(&pair)
	c.stamp = stamp
	return nil
}

// fileStamp sums up the files' sizes and modification times.
func (c *certificate) fileStamp() string {
	var s string
	for _, f := range []string{c.certFile, c.keyFile} {
		if fi, err := os.Stat(f); err == nil {
			s += fmt.Sprintf("%d/%d;", fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return s
}

// tlsConfig is the API's TLS configuration: TLS 1.2 at least, the current
// certificate at each handshake.
func (c *certificate) tlsConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return c.current.Load(), nil
	}}
}

// watch reloads the pair on SIGHUP and when the files change, until ctx
// ends.
func (c *certificate) watch(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	tick := time.NewTicker(certReload)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			c.reload("SIGHUP")
		case <-tick.C:
			if c.fileStamp() != c.stamp {
				c.reload("the files changed")
			}
		}
	}
}

// reload loads the pair again, keeping the old one if the new one fails.
func (c *certificate) reload(why string) {
	if err := c.load(); err != nil {
		c.log.Error("reloading the TLS certificate failed; serving the previous one", "why", why, "err", err)
		return
	}
	c.log.Info("TLS certificate reloaded", "why", why, "cert", c.certFile)
}

// checkTLS refuses half a TLS configuration.
func (c config) checkTLS() error {
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	return nil
}
