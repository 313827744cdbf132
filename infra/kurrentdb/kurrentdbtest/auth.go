package kurrentdbtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// principalKey carries the caller's rights in a call's context.
type principalKey struct{}

// authenticate returns the rights of the call's credentials: every right
// on a server without users, none for a call without credentials, and an
// Unauthenticated error for a wrong user or password.
func (c config) authenticate(ctx context.Context) (Access, error) {
	if len(c.users) == 0 {
		return Read | Write | ReadAll, nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	values := md.Get("authorization")
	if len(values) == 0 {
		return 0, nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(values[0], "Basic "))
	name, password, ok := strings.Cut(string(raw), ":")
	u, known := c.users[name]
	if err != nil || !ok || !known || u.password != password {
		return 0, status.Error(codes.Unauthenticated, "Bad HTTP status code: 401 Unauthorized")
	}
	return u.access, nil
}

// unaryAuth and streamAuth authenticate every call but those of
// ServerFeatures, which a node answers anonymously.
func (c config) unaryAuth(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
	if strings.Contains(info.FullMethod, "ServerFeatures") {
		return next(ctx, req)
	}
	access, err := c.authenticate(ctx)
	if err != nil {
		return nil, err
	}
	return next(context.WithValue(ctx, principalKey{}, access), req)
}

func (c config) streamAuth(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
	access, err := c.authenticate(ss.Context())
	if err != nil {
		return err
	}
	return next(srv, &authedStream{ServerStream: ss, ctx: context.WithValue(ss.Context(), principalKey{}, access)})
}

// authedStream is a server stream whose context carries the caller's rights.
type authedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *authedStream) Context() context.Context { return s.ctx }

// trailerSetter is what can carry trailers: a server stream, or a unary
// call's context (through grpc.SetTrailer).
type trailerSetter interface{ SetTrailer(metadata.MD) }

// allow returns AccessDenied, with the trailer a node sends, unless the
// caller holds the right.
func allow(ctx context.Context, call trailerSetter, need Access) error {
	access, _ := ctx.Value(principalKey{}).(Access)
	if access&need == need {
		return nil
	}
	call.SetTrailer(metadata.Pairs("exception", "access-denied"))
	return status.Error(codes.PermissionDenied, "Access Denied")
}

// unaryTrailers sets trailers on a unary call.
type unaryTrailers struct{ ctx context.Context }

func (u unaryTrailers) SetTrailer(md metadata.MD) { _ = grpc.SetTrailer(u.ctx, md) }

// selfSignedTLS returns a server TLS configuration with a certificate for
// 127.0.0.1 made for this server alone.
func selfSignedTLS() (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "kurrentdbtest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
