package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/jetstream"
)

// TestTheProductionShape runs what docker-compose.yml runs, without a
// Docker engine: three nats-server processes from deploy/nats/nats.conf,
// each with the environment compose gives its node, the secrets written
// by deploy/init-secrets.sh where compose mounts them, and ledgerd as
// compose starts it (the ledger user, its password from a secret file,
// three replicas, the principals from a secret). It sends commands, kills
// the node leading the commit log and starts it again, and checks that
// every acknowledged command's events reach the mailer service, through
// its own durable consumer, once each.
func TestTheProductionShape(t *testing.T) {
	root := productionRoot(t)
	nodes := startNATSCluster(t, root)
	secrets := filepath.Join(root, "run", "secrets")
	urls := make([]string, len(nodes))
	for i, n := range nodes {
		urls[i] = n.url
	}
	l := &ledgerd{t: t, data: t.TempDir(), httpAddr: freeAddr(t)}
	l.args = []string{"--data", l.data, "--listen", l.httpAddr, "--nats-url", strings.Join(urls, ","),
		"--nats-user", "ledger", "--nats-password-file", filepath.Join(secrets, "ledger-nats-password"),
		"--replicas", "3", "--auth-file", filepath.Join(secrets, "principals.json")}
	l.HTTP = "http://" + l.httpAddr
	l.start()
	t.Cleanup(l.kill)
	requireReady(t, l, 30*time.Second)

	token := strings.TrimSpace(readFile(t, filepath.Join(secrets, "admin-token")))
	rt := newRetrier(0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	acked := map[string]string{} // event id -> command key
	send := func(from, to int) {
		for i := from; i < to; i++ {
			key := fmt.Sprintf("register-%d", i)
			a := rt.send(ctx, l.HTTP, token, "default", "RegisterUser", fmt.Sprintf(`{"userId":"user-%d","usageLocation":"US"}`, i), key)
			require.True(t, a.Acked(), "%s: %s", key, a)
			acked[a.Events[0].ID] = key
		}
	}
	send(0, 20)
	leader := logLeader(t, nodes[0].url, secrets)
	killed := false
	for _, n := range nodes {
		if n.name == leader {
			n.kill()
			killed = true
			send(20, 40) // through the election: 503s, sent again with their keys
			n.start(t)
		}
	}
	require.True(t, killed, "the commit log's leader %q is one of the nodes", leader)
	send(40, 50)
	requireReady(t, l, 30*time.Second)

	got := readAsMailer(t, urls, secrets, len(acked))
	for id, key := range acked {
		assert.Equal(t, 1, got[id], "%s's event %s reaches the mailer once", key, id)
	}
	assert.Len(t, got, len(acked), "and nothing else")
}

// productionRoot lays out what compose mounts: the NATS configuration at
// etc/nats and the secrets init-secrets.sh writes at run/secrets.
func productionRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	conf := filepath.Join(root, "etc", "nats")
	require.NoError(t, os.MkdirAll(conf, 0o755))
	for _, name := range []string{"nats.conf", "permissions.conf"} {
		require.NoError(t, os.WriteFile(filepath.Join(conf, name), []byte(readFile(t, filepath.Join("..", "deploy", "nats", name))), 0o644))
	}
	out, err := exec.Command("../deploy/init-secrets.sh", filepath.Join(root, "run", "secrets")).CombinedOutput()
	require.NoError(t, err, "%s", out)
	requireSameLedgerdBlock(t)
	return root
}

// requireSameLedgerdBlock checks that the production configuration gives
// ledgerd the permissions the external-NATS test proves it needs.
func requireSameLedgerdBlock(t *testing.T) {
	t.Helper()
	block := func(path string) string {
		s := readFile(t, path)
		i := strings.Index(s, "LEDGERD = {")
		require.GreaterOrEqual(t, i, 0, path)
		j := strings.Index(s[i:], "\n}\n")
		require.Greater(t, j, 0, path)
		return s[i : i+j]
	}
	assert.Equal(t, block("testdata/nats-permissions.conf"), block("../deploy/nats/permissions.conf"), "ledgerd's permission block")
}

// clusterNode is one nats-server of the cluster, started from the
// production configuration with its node's environment.
type clusterNode struct {
	name, url string
	env       []string
	conf      string
	cmd       *exec.Cmd
	exited    chan struct{}
	log       string
}

// startNATSCluster starts three nodes and waits until JetStream answers
// on each.
func startNATSCluster(t *testing.T, root string) []*clusterNode {
	t.Helper()
	bin := natsServerBin(t)
	routes := make([]string, 3)
	clients := make([]string, 3)
	for i := range routes {
		routes[i], clients[i] = freeAddr(t), freeAddr(t)
	}
	nodes := make([]*clusterNode, 3)
	for i := range nodes {
		n := &clusterNode{name: fmt.Sprintf("nats-%d", i+1), url: "nats://" + clients[i], conf: filepath.Join(root, "etc", "nats", "nats.conf")}
		n.env = append(os.Environ(), "NATS_SERVER_NAME="+n.name, "NATS_LISTEN="+clients[i], "NATS_HTTP="+freeAddr(t),
			"NATS_STORE_DIR="+t.TempDir(), "NATS_CLUSTER_LISTEN="+routes[i],
			"NATS_ROUTE_1=nats-route://"+routes[0], "NATS_ROUTE_2=nats-route://"+routes[1], "NATS_ROUTE_3=nats-route://"+routes[2])
		n.log = filepath.Join(t.TempDir(), n.name+".log")
		n.cmd = exec.Command(bin, "-c", n.conf)
		nodes[i] = n
	}
	for _, n := range nodes {
		n.start(t)
		t.Cleanup(n.kill)
	}
	secrets := filepath.Join(root, "run", "secrets")
	for _, n := range nodes {
		eventually(t, 60*time.Second, func() error { return streamAPIAnswers(n.url, secrets) })
	}
	return nodes
}

func (n *clusterNode) start(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(n.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	require.NoError(t, err)
	n.cmd = exec.Command(n.cmd.Path, "-c", n.conf)
	n.cmd.Env, n.cmd.Stdout, n.cmd.Stderr = n.env, logf, logf
	require.NoError(t, n.cmd.Start(), "starting %s", n.name)
	n.exited = make(chan struct{})
	go func() { _ = n.cmd.Wait(); logf.Close(); close(n.exited) }()
}

func (n *clusterNode) kill() {
	if n.cmd.Process == nil || n.exited == nil {
		return
	}
	_ = n.cmd.Process.Kill()
	<-n.exited
}

// connectProductionUser connects to the cluster as one of the production users.
func connectProductionUser(urls, user, secrets string) (*nats.Conn, error) {
	password, err := os.ReadFile(filepath.Join(secrets, user+"-nats-password"))
	if err != nil {
		return nil, err
	}
	opts := []nats.Option{nats.UserInfo(user, strings.TrimSpace(string(password))), nats.Timeout(2 * time.Second)}
	if user == "ledger" {
		opts = append(opts, nats.CustomInboxPrefix(jetstream.LedgerInboxPrefix))
	}
	return nats.Connect(urls, opts...)
}

// streamAPIAnswers reports whether the node answers the JetStream API to
// the ledger user: the cluster has formed and has a meta leader.
func streamAPIAnswers(url, secrets string) error {
	nc, err := connectProductionUser(url, "ledger", secrets)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := natsjs.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err
}

// logLeader returns the name of the node leading the commit log stream.
func logLeader(t *testing.T, url, secrets string) string {
	t.Helper()
	nc, err := connectProductionUser(url, "ledger", secrets)
	require.NoError(t, err)
	defer nc.Close()
	js, err := natsjs.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, jetstream.LogStreamName)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	require.NotNil(t, info.Cluster)
	require.Len(t, info.Cluster.Replicas, 2, "the commit log has three replicas")
	return info.Cluster.Leader
}

// readAsMailer reads LEDGER through the mailer's durable consumer, as the
// mailer service does, until want events came or 30 s passed, and counts
// each event id. The mailer may not publish on the commit log.
func readAsMailer(t *testing.T, urls []string, secrets string, want int) map[string]int {
	t.Helper()
	nc, err := connectProductionUser(strings.Join(urls, ","), "mailer", secrets)
	require.NoError(t, err)
	defer nc.Close()
	assert.Error(t, publishChecked(nc, jetstream.LogSubject("default")), "the mailer may not write the commit log")
	js, err := natsjs.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var cons natsjs.Consumer
	eventually(t, 60*time.Second, func() error { // the cluster may still elect leaders after the kill
		try, stop := context.WithTimeout(ctx, 10*time.Second)
		defer stop()
		var err error
		cons, err = js.CreateOrUpdateConsumer(try, jetstream.StreamName, natsjs.ConsumerConfig{Durable: "mailer", AckPolicy: natsjs.AckExplicitPolicy})
		return err
	})
	got := map[string]int{}
	for n := 0; n < want && ctx.Err() == nil; {
		batch, err := cons.Fetch(want-n, natsjs.FetchMaxWait(2*time.Second))
		require.NoError(t, err)
		for m := range batch.Messages() {
			e, err := events.Decode(m.Data())
			require.NoError(t, err)
			got[e.GetId()]++
			require.NoError(t, m.Ack())
			n++
		}
	}
	return got
}

// publishChecked publishes and reports the server's refusal, which a
// plain publish only reports asynchronously.
func publishChecked(nc *nats.Conn, subject string) error {
	errs := make(chan error, 1)
	nc.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case errs <- err:
		default:
		}
	})
	if err := nc.Publish(subject, []byte("forged")); err != nil {
		return err
	}
	if err := nc.Flush(); err != nil {
		return err
	}
	select {
	case err := <-errs:
		return err
	case <-time.After(time.Second):
		return nil
	}
}
