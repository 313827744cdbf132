package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTheAPIOverTLS serves the API over HTTPS with --tls-cert and
// --tls-key, then replaces the certificate, as a renewal does: a SIGHUP
// makes the next connection see the new one, without a restart. Plain
// HTTP is not answered.
func TestTheAPIOverTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCA(t)
	certFile, keyFile := filepath.Join(dir, "api.pem"), filepath.Join(dir, "api-key.pem")
	writeLeaf(t, ca, caKey, 1, certFile, keyFile)

	data := t.TempDir()
	l := &ledgerd{t: t, data: data, httpAddr: freeAddr(t)}
	l.args = []string{"--data", data, "--listen", l.httpAddr, "--nats-listen", "", "--auth-file", writeAuthFile(t, data),
		"--tls-cert", certFile, "--tls-key", keyFile}
	l.HTTP = "https://" + l.httpAddr
	l.launch()
	t.Cleanup(l.kill)

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	serial := func() int64 {
		conn, err := tls.Dial("tcp", l.httpAddr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
		if err != nil {
			return 0
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	require.Eventually(t, func() bool { return serial() == 1 }, 30*time.Second, 50*time.Millisecond, "HTTPS with the first certificate:\n%s", l.log())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	require.Eventually(t, func() bool {
		resp, err := client.Get(l.HTTP + "/readyz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond)
	if resp, err := http.Get("http://" + l.httpAddr + "/healthz"); err == nil {
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "plain HTTP gets no answer from the API")
		resp.Body.Close()
	}

	caFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}), 0o644))
	ctl := buildLedgerctl(t, l)
	ready := exec.Command(ctl.bin, "ready", "--server", l.HTTP, "--ca", caFile)
	out, err := ready.CombinedOutput()
	require.NoError(t, err, "ledgerctl ready trusts --ca: %s", out)
	out, err = exec.Command(ctl.bin, "ready", "--server", l.HTTP).CombinedOutput()
	assert.Error(t, err, "without --ca the certificate is not trusted: %s", out)

	writeLeaf(t, ca, caKey, 2, certFile, keyFile)
	require.NoError(t, l.cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool { return serial() == 2 }, 10*time.Second, 50*time.Millisecond, "the renewed certificate after SIGHUP")
	assert.Contains(t, l.log(), "TLS certificate reloaded")
}

// newCA makes a certificate authority for the test.
func newCA(t *testing.T) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(100), Subject: pkix.Name{CommonName: "e2e CA"}, IsCA: true,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return ca, key
}

// writeLeaf writes a server certificate for 127.0.0.1 with the serial,
// signed by the CA, and its key.
func writeLeaf(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, serial int64, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "ledgerd"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
}
