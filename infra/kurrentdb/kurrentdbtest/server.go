// Package kurrentdbtest is test support for the KurrentDB event store
// adapter: an in-process stand-in for a KurrentDB node that the real esdb
// client talks to over gRPC, so the adapter's tests run without a server.
package kurrentdbtest

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/serverfeatures"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
)

// InProcessServer is an in-memory stand-in for a single KurrentDB node,
// listening on a real local socket without TLS. It implements only what
// the esdb client uses for appends, reads and catch-up subscriptions:
// Streams.Append, Streams.Read (stream reads, $all reads, filtered and
// unfiltered $all subscriptions) and ServerFeatures.GetSupportedMethods,
// which the client calls on connect. It follows KurrentDB's documented
// semantics: a wrong expected version reports the stream's current revision,
// reading a stream never written answers "stream not found", appending
// event ids already stored at the expected place is an idempotent success,
// and every event has a commit position (equal to its prepare position)
// that grows with the log, with gaps, as byte offsets do in a real log.
// Its data lives as long as the server, not as long as a client, so it
// outlives the stores that connect to it, as a real node outlives restarts
// of the services using it.
//
// It also fails as a node does: an append over the node's MaxAppendSize
// (WithMaxAppendSize) is refused whole; Streams.Delete soft-deletes a
// stream (it then reads as not found, its metadata's $tb says why) and
// Streams.Tombstone deletes it for good (reads and appends answer "stream
// deleted", and a $streamDeleted event appears in $all); with users
// (WithUser) it is a secure node, refusing calls beyond a user's rights.
//
// It does not model clusters (gossip, leader elections, not-leader
// redirects), persistent subscriptions, projections, scavenging, stream
// ACLs set in metadata (rights are per user, for every stream), expected
// revisions on deletes, transactions, or BatchAppend.
type InProcessServer struct {
	streams *streamsService
	addr    string
	cfg     config
	tls     *tls.Config // nil for an insecure node

	mu     sync.Mutex
	server *grpc.Server // nil while stopped
}

// streamsService implements the Streams gRPC service over the event log.
type streamsService struct {
	streams.UnimplementedStreamsServer
	log           *eventLog
	drops         *dropSignal
	maxAppendSize int
}

// Start starts a server on 127.0.0.1 on a free port and stops it when the
// test ends.
func Start(t testing.TB, opts ...Option) *InProcessServer {
	t.Helper()
	cfg := newConfig(opts)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("kurrentdbtest: listen: %v", err)
	}
	s := &InProcessServer{
		streams: &streamsService{log: newEventLog(), drops: newDropSignal(), maxAppendSize: cfg.maxAppendSize},
		addr:    lis.Addr().String(),
		cfg:     cfg,
	}
	if len(cfg.users) > 0 {
		if s.tls, err = selfSignedTLS(); err != nil {
			t.Fatalf("kurrentdbtest: certificate: %v", err)
		}
	}
	s.serve(lis)
	t.Cleanup(s.Stop)
	return s
}

// serve starts a gRPC server with the node's services on the listener.
func (s *InProcessServer) serve(lis net.Listener) {
	opts := []grpc.ServerOption{
		grpc.KeepaliveEnforcementPolicy(clientKeepalive),
		grpc.ChainUnaryInterceptor(s.cfg.unaryAuth),
		grpc.ChainStreamInterceptor(s.cfg.streamAuth),
	}
	if s.tls != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(s.tls)))
	}
	server := grpc.NewServer(opts...)
	streams.RegisterStreamsServer(server, s.streams)
	serverfeatures.RegisterServerFeaturesServer(server, featuresService{})
	s.mu.Lock()
	s.server = server
	s.mu.Unlock()
	// Serve returns only once Stop is called or the listener fails; either
	// way the clients see the node as gone, which is what tests observe.
	go func() { _ = server.Serve(lis) }()
}

// clientKeepalive accepts the esdb client's keep-alive pings, sent every
// 10 s by default even without calls in flight. gRPC's default policy
// would answer them by closing the connection, dropping subscriptions.
var clientKeepalive = keepalive.EnforcementPolicy{MinTime: time.Second, PermitWithoutStream: true}

// ConnectionString returns the esdb connection string of the server,
// without credentials.
func (s *InProcessServer) ConnectionString() string {
	if s.tls != nil {
		return fmt.Sprintf("esdb://%s?tls=true&tlsVerifyCert=false", s.addr)
	}
	return fmt.Sprintf("esdb://%s?tls=false", s.addr)
}

// ConnectionStringFor returns the connection string of a user of a server
// with users (the esdb client sends credentials only over TLS).
func (s *InProcessServer) ConnectionStringFor(name, password string) string {
	return fmt.Sprintf("esdb://%s@%s?tls=true&tlsVerifyCert=false", url.UserPassword(name, password).String(), s.addr)
}

// Stop closes the listener and every connection at once, as a node that
// goes down does. Calls in flight fail as unavailable. Stop is idempotent.
func (s *InProcessServer) Stop() {
	s.mu.Lock()
	server := s.server
	s.server = nil
	s.mu.Unlock()
	if server != nil {
		server.Stop()
	}
}

// Restart stops the server if it runs and serves again on the same
// address with the same events, as a node restarting on durable storage
// does.
func (s *InProcessServer) Restart() error {
	s.Stop()
	lis, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("kurrentdbtest: listen again on %s: %w", s.addr, err)
	}
	s.serve(lis)
	return nil
}

// DropSubscriptions ends every subscription running now with an
// "unavailable" status, as a node does when it shuts down or loses
// leadership, so tests can check that subscribers resubscribe.
func (s *InProcessServer) DropSubscriptions() { s.streams.drops.fire() }
