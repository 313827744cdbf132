package jetstream

import (
	"github.com/nats-io/nats-server/v2/server"
	"golang.org/x/crypto/bcrypt"
)

// The embedded server's users. The ledger connects as LedgerUser with a
// password only its own process knows; every other client, connecting
// without credentials, is SubscriberUser: it may follow the ledger and read
// its streams, never write or edit them.
const (
	LedgerUser     = "ledger"
	SubscriberUser = "subscriber"
)

// authOptions turns authentication on: the ledger's user may do anything;
// clients without credentials get subscriberPermissions. The server keeps
// only a bcrypt hash of the ledger's password.
func authOptions(opts *server.Options, ledgerPassword string) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(ledgerPassword), bcrypt.MinCost)
	if err != nil {
		return err
	}
	opts.Users = []*server.User{
		{Username: LedgerUser, Password: string(hash)},
		{Username: SubscriberUser, Permissions: subscriberPermissions()},
	}
	opts.NoAuthUser = SubscriberUser
	return nil
}

// subscriberPermissions allows a downstream client to subscribe to the
// public subjects and to read the ledger's streams with JetStream consumers
// and gets, and nothing else: no publishing on the ledger's subjects, no
// stream creation, update, purge or deletion, no message deletion.
func subscriberPermissions() *server.Permissions {
	var publish []string
	for _, stream := range []string{StreamName, LogStreamName, CheckpointStreamName} {
		publish = append(publish,
			"$JS.API.STREAM.INFO."+stream,
			"$JS.API.STREAM.MSG.GET."+stream,
			"$JS.API.DIRECT.GET."+stream, "$JS.API.DIRECT.GET."+stream+".>",
			"$JS.API.CONSUMER.CREATE."+stream, "$JS.API.CONSUMER.CREATE."+stream+".>",
			"$JS.API.CONSUMER.DURABLE.CREATE."+stream+".>",
			"$JS.API.CONSUMER.INFO."+stream+".>",
			"$JS.API.CONSUMER.DELETE."+stream+".>",
			"$JS.API.CONSUMER.NAMES."+stream, "$JS.API.CONSUMER.LIST."+stream,
			"$JS.API.CONSUMER.MSG.NEXT."+stream+".>",
			"$JS.ACK."+stream+".>", "$JS.FC."+stream+".>",
		)
	}
	publish = append(publish, "$JS.API.INFO", "$JS.API.STREAM.NAMES", "$JS.API.STREAM.LIST", "_INBOX.>")
	return &server.Permissions{
		Publish:   &server.SubjectPermission{Allow: publish},
		Subscribe: &server.SubjectPermission{Allow: []string{PublicSubjects, CheckpointSubjects, "_INBOX.>"}},
	}
}
