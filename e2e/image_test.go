package e2e

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTheImageBinaries builds ledgerd and ledgerctl as the Dockerfile does
// (scripts/build.sh), checks they are static (the image's base is empty),
// and starts them: ledgerd serves, and ledgerctl ready, the image's
// healthcheck, says so.
func TestTheImageBinaries(t *testing.T) {
	dockerfile, err := os.ReadFile("../Dockerfile")
	require.NoError(t, err)
	require.Contains(t, string(dockerfile), "RUN ./scripts/build.sh /out", "the image builds with the script this test runs")
	require.Contains(t, string(dockerfile), `CMD ["/usr/local/bin/ledgerctl", "ready"]`, "the image's healthcheck is ledgerctl ready")

	out := t.TempDir()
	build := exec.Command("../scripts/build.sh", out)
	msg, err := build.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	for _, name := range []string{"ledgerd", "ledgerctl"} {
		requireStatic(t, filepath.Join(out, name))
	}

	data := t.TempDir()
	l := &ledgerd{t: t, data: data, httpAddr: freeAddr(t), natsAddr: freeAddr(t), bin: filepath.Join(out, "ledgerd")}
	l.args = []string{"--data", data, "--listen", l.httpAddr, "--nats-listen", ""}
	l.HTTP = "http://" + l.httpAddr
	l.start()
	t.Cleanup(l.kill)

	ready := exec.Command(filepath.Join(out, "ledgerctl"), "ready", "--server", l.HTTP)
	msg, err = ready.CombinedOutput()
	require.NoError(t, err, "%s", msg)
	assert.Equal(t, "ready", strings.TrimSpace(string(msg)))

	l.stop()
	notReady := exec.Command(filepath.Join(out, "ledgerctl"), "ready", "--server", l.HTTP)
	msg, err = notReady.CombinedOutput()
	assert.Error(t, err, "a stopped ledgerd is not ready: %s", msg)
}

// requireStatic fails unless the executable needs no dynamic loader and no
// shared library.
func requireStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	require.NoError(t, err)
	defer f.Close()
	for _, p := range f.Progs {
		assert.NotEqual(t, elf.PT_INTERP, p.Type, "%s asks for a dynamic loader", path)
	}
	libs, err := f.ImportedLibraries()
	require.NoError(t, err)
	assert.Empty(t, libs, "%s needs shared libraries", path)
}

// TestTheComposeFileIsValid validates docker-compose.yml, both profiles,
// with Debian's docker-compose (scripts/install-tools.sh installs it): no
// Docker engine runs here to start it; TestTheProductionShape runs what it
// runs.
func TestTheComposeFileIsValid(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("docker-compose is missing: scripts/install-tools.sh installs it")
		}
		t.Skip("docker-compose is missing: run scripts/install-tools.sh")
	}
	if _, err := os.Stat("../deploy/secrets"); os.IsNotExist(err) {
		// compose reads the kurrentdb profile's env_file: write the secrets
		// as an operator would, and remove them afterwards.
		out, err := exec.Command("../deploy/init-secrets.sh").CombinedOutput()
		require.NoError(t, err, "%s", out)
		t.Cleanup(func() { os.RemoveAll("../deploy/secrets") })
	}
	for _, profile := range []string{"", "kurrentdb"} {
		cmd := exec.Command(bin, "--profile", profile, "config", "-q")
		if profile == "" {
			cmd = exec.Command(bin, "config", "-q")
		}
		cmd.Dir = ".."
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "docker-compose config (profile %q): %s", profile, out)
	}
	compose := readFile(t, "../docker-compose.yml")
	for _, want := range []string{"nats:2.15.2-alpine", "127.0.0.1:8080:8080", "--replicas=3", "condition: service_healthy", "ledgerctl\", \"ready",
		"kurrentdb:25.1.0", `KURRENTDB_INSECURE: "false"`, "--kurrentdb-url-file"} {
		assert.Contains(t, compose, want)
	}
}
