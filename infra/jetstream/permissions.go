package jetstream

import (
	"github.com/nats-io/nats-server/v2/server"
	"golang.org/x/crypto/bcrypt"
)

// The embedded server's users. The ledger connects as LedgerUser with a
// password only its own process knows; every other client, connecting
// without credentials, is SubscriberUser: it may follow the ledger and read
// LEDGER, never write anything or touch the commit log. Downstream services
// named in a consumers file (ConsumerUser) connect as themselves.
const (
	LedgerUser     = "ledger"
	SubscriberUser = "subscriber"
)

// LedgerInboxPrefix is the inbox prefix of ledgerd's own connections. The
// replies ledgerd gets (JetStream answers, the commit log's messages) go to
// inboxes under it, which no other client may subscribe or publish to:
// under the usual _INBOX prefix, which readers need for their own replies,
// anyone could read the log through ledgerd's replies or forge them.
const LedgerInboxPrefix = "_INBOX_ledgerd"

// authOptions turns authentication on: the ledger's user may do anything;
// clients without credentials get readerPermissions, and so does each
// consumer user, which alone may use the durable names it reserves. The
// server keeps only a bcrypt hash of the ledger's password.
func authOptions(opts *server.Options, ledgerPassword string, consumers []ConsumerUser) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(ledgerPassword), bcrypt.MinCost)
	if err != nil {
		return err
	}
	opts.Users = []*server.User{
		{Username: LedgerUser, Password: string(hash)},
		{Username: SubscriberUser, Permissions: readerPermissions(reservedDurables(consumers, ""), false)},
	}
	for _, c := range consumers {
		perms := readerPermissions(reservedDurables(consumers, c.User), c.ReadLog)
		if c.Nkey != "" {
			opts.Nkeys = append(opts.Nkeys, &server.NkeyUser{Nkey: c.Nkey, Permissions: perms})
			continue
		}
		opts.Users = append(opts.Users, &server.User{Username: c.User, Password: c.Password, Permissions: perms})
	}
	opts.NoAuthUser = SubscriberUser
	return nil
}

// reservedDurables returns the durable names reserved by every consumer
// user but the one named except.
func reservedDurables(consumers []ConsumerUser, except string) []string {
	var names []string
	for _, c := range consumers {
		if c.User != except {
			names = append(names, c.Durables...)
		}
	}
	return names
}

// readerPermissions allows a downstream client to subscribe to the public
// subjects and its own inboxes, and to read LEDGER with consumers and
// gets: nothing else, so no publishing on the ledger's subjects, nothing
// on the commit log or the snapshot bucket (where ledgerd's consumers are),
// no stream changes. Consumers on LEDGER are addressed by name in the
// subject, so the durable names others reserved are denied on every
// consumer subject; the legacy create subject without a name is not
// allowed, since it names the consumer in its body, where permissions
// cannot look. readLog adds reading the commit log by info and gets only.
func readerPermissions(othersDurables []string, readLog bool) *server.Permissions {
	publish := append([]string{"$JS.API.INFO", "$JS.API.STREAM.NAMES"}, streamReads(StreamName)...)
	publish = append(publish, streamReads(CheckpointStreamName)...) // witnesses and monitors read the signed checkpoints
	publish = append(publish,
		"$JS.API.CONSUMER.CREATE."+StreamName+".>", // <name> and <name>.<filter>
		"$JS.API.CONSUMER.DURABLE.CREATE."+StreamName+".*",
		"$JS.API.CONSUMER.INFO."+StreamName+".*",
		"$JS.API.CONSUMER.DELETE."+StreamName+".*",
		"$JS.API.CONSUMER.MSG.NEXT."+StreamName+".*",
		"$JS.ACK."+StreamName+".>", "$JS.FC."+StreamName+".>",
	)
	if readLog {
		publish = append(publish, streamReads(LogStreamName)...)
	}
	var deny []string
	for _, name := range othersDurables {
		deny = append(deny, consumerSubjects(StreamName, name)...)
	}
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: publish, Deny: deny},
		Subscribe: &server.SubjectPermission{Allow: []string{PublicSubjects, CheckpointSubjects, "_INBOX.>"}},
	}
}

// streamReads are the subjects that read a stream's information and
// messages without any state on the server.
func streamReads(stream string) []string {
	return []string{
		"$JS.API.STREAM.INFO." + stream, "$JS.API.STREAM.MSG.GET." + stream,
		"$JS.API.DIRECT.GET." + stream, "$JS.API.DIRECT.GET." + stream + ".>",
	}
}

// consumerSubjects match every subject that addresses the named consumer
// of the stream: the JetStream API's consumer requests (create with or
// without a filter, info, delete, pause, reset, next message, legacy
// durable create, ...), its acknowledgements and its flow control.
func consumerSubjects(stream, name string) []string {
	return []string{
		"$JS.API.CONSUMER.*." + stream + "." + name,
		"$JS.API.CONSUMER.*." + stream + "." + name + ".>",
		"$JS.API.CONSUMER.*.*." + stream + "." + name,
		"$JS.ACK." + stream + "." + name + ".>",
		"$JS.FC." + stream + "." + name + ".>",
	}
}
