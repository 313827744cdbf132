package kurrentdbtest

// DefaultMaxAppendSize is the most bytes one append may carry on a node
// left at its defaults: KurrentDB's MaxAppendSize, 1 MiB.
const DefaultMaxAppendSize = 1 << 20

// Option configures a server.
type Option func(*config)

type config struct {
	maxAppendSize int
	users         map[string]user
}

func newConfig(opts []Option) config {
	c := config{maxAppendSize: DefaultMaxAppendSize}
	for _, opt := range opts {
		opt(&c)
	}
	return c
}

// WithMaxAppendSize sets the most bytes one append may carry, as a node's
// MaxAppendSize setting does (DefaultMaxAppendSize otherwise). An append
// counts each event's data, custom metadata and twice its type's length;
// a bigger one is refused whole, as "Maximum Append Size of N Exceeded."
// with status InvalidArgument, which the esdb client reports with no code
// of its own (ErrorCodeUnknown).
func WithMaxAppendSize(bytes int) Option {
	return func(c *config) { c.maxAppendSize = bytes }
}

// Access is what a user may do.
type Access uint8

// The rights a user may hold; a real node grants them through stream ACLs
// and the $admins and $ops groups.
const (
	// Read lets a user read streams, their metadata included.
	Read Access = 1 << iota
	// Write lets a user append to, delete and tombstone streams.
	Write
	// ReadAll lets a user read and subscribe to $all (an admin's right
	// on a real node).
	ReadAll
)

// WithUser adds a user with its password and rights. A server with users
// is secure, as a real node in production: it serves TLS with a
// self-signed certificate (ConnectionStringFor's connection strings skip
// its verification), answers calls with a bad password as Unauthenticated
// and calls beyond a user's rights, or without credentials, as
// AccessDenied. A server without users lets anyone do anything, like an
// insecure node.
func WithUser(name, password string, access Access) Option {
	return func(c *config) {
		if c.users == nil {
			c.users = make(map[string]user)
		}
		c.users[name] = user{password: password, access: access}
	}
}

// user is an account of a secure server.
type user struct {
	password string
	access   Access
}
