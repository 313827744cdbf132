package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/licensing-ledger/ledger/events"
)

// Names and subjects of LEDGER, the public stream downstream consumers
// read: one message per event. The store keeps events in its commit log
// (LogStreamName); a forwarder (infra/forward) publishes each into LEDGER.
// Writers publish on the input subjects; the stream stores (and
// re-publishes, once stored) on the public ones, so that a core-NATS
// subscriber on PublicSubjects only ever sees events that JetStream
// accepted.
const (
	// StreamName is the public JetStream stream of every tenant's events.
	StreamName = "LEDGER"
	// PublicSubjects matches the stored subjects, ledger.<tenant>.<EventType>.
	PublicSubjects = "ledger.>"
	// inputSubjects matches the subjects writers publish on.
	inputSubjects = "ledger-in.*.*"
	// storedSubjectTemplate maps an input subject onto its stored subject.
	storedSubjectTemplate = "ledger.{{wildcard(1)}}.{{wildcard(2)}}"
	inputPrefix           = "ledger-in."
	publicPrefix          = "ledger."
)

// LedgerSequenceHeader carries a tenant sequence (decimal), because streams
// only number messages globally: on a LEDGER message its event's, on a log
// message its first record's.
const LedgerSequenceHeader = "Ledger-Sequence"

// DefaultDuplicates is the de-duplication window used when StreamConfig
// leaves it zero. It is short because nothing relies on it: log appends
// carry no message id, and every LEDGER publish expects the stream's last
// sequence, which refuses a repeated event whenever it arrives. JetStream
// cannot turn the window off (100 ms at least), and each id it remembers is
// an entry that every garbage collection of the process scans: the
// server's default of two minutes held 4.3 million entries at 36,000
// events/s.
const DefaultDuplicates = time.Second

// StreamConfig holds the deployment choices for the ledger's streams, the
// commit log and LEDGER alike.
type StreamConfig struct {
	// Replicas is how many servers keep a copy (1 when zero). Use 3 in a
	// cluster for durability; a single embedded server supports only 1.
	Replicas int
	// Duplicates is how long JetStream remembers message ids
	// (DefaultDuplicates when zero). No guarantee depends on it: the
	// sequence checks refuse a retried append or a repeated event after the
	// window as within it.
	Duplicates time.Duration
}

// EnsureStream creates the LEDGER stream, or updates an existing one to this
// configuration, so that every process start converges on the same setup.
// It fails if the existing stream cannot take the configuration (for example
// one stored in memory). When the server cannot be reached the error wraps
// events.ErrUnavailable.
func EnsureStream(ctx context.Context, js natsjs.JetStream, cfg StreamConfig) (natsjs.Stream, error) {
	stream, err := js.CreateOrUpdateStream(ctx, streamConfig(cfg))
	if err != nil {
		return nil, classify("ensure stream "+StreamName, err)
	}
	return stream, nil
}

// defaults returns the replicas and duplicates window to use.
func (cfg StreamConfig) defaults() (replicas int, duplicates time.Duration) {
	replicas, duplicates = cfg.Replicas, cfg.Duplicates
	if replicas <= 0 {
		replicas = 1
	}
	if duplicates <= 0 {
		duplicates = DefaultDuplicates
	}
	return replicas, duplicates
}

// streamConfig builds the LEDGER stream configuration.
func streamConfig(cfg StreamConfig) natsjs.StreamConfig {
	replicas, duplicates := cfg.defaults()
	persist := natsjs.DefaultPersistMode
	if replicas == 1 {
		// LEDGER is derived: the forwarder refills it from the store after its
		// own last message, so writes lost in a crash are published again. It
		// need not wait for the disk, even when the log does (--sync).
		persist = natsjs.AsyncPersistMode
	}
	return natsjs.StreamConfig{
		Name:        StreamName,
		Description: "Licensing ledger events: one ordered stream per tenant",
		Subjects:    []string{inputSubjects},
		SubjectTransform: &natsjs.SubjectTransformConfig{
			Source:      inputSubjects,
			Destination: storedSubjectTemplate,
		},
		RePublish:   &natsjs.RePublish{Source: PublicSubjects, Destination: PublicSubjects},
		Storage:     natsjs.FileStorage,
		Retention:   natsjs.LimitsPolicy,
		Discard:     natsjs.DiscardNew, // never drop history to make room
		Replicas:    replicas,
		Duplicates:  duplicates,
		AllowDirect: true,
		PersistMode: persist,
	}
}

// ValidToken reports whether s can be a tenant id or an event type: exactly
// one NATS subject token, so that it can neither escape its place in a
// subject nor act as a wildcard. It refuses the empty string, '.', '*', '>',
// whitespace, control characters and invalid UTF-8: a valid record id
// (validID) without a subject's separator or wildcards.
func ValidToken(s string) bool {
	return validID(s) && !strings.ContainsAny(s, ".*>")
}

// InputSubject is the subject a writer publishes an event of this type for
// this tenant on. Both must be valid tokens (see ValidToken).
func InputSubject(tenant, eventType string) string {
	return inputPrefix + tenant + "." + eventType
}

// TenantFilter matches the stored subjects of every event of one tenant.
func TenantFilter(tenant string) string {
	return publicPrefix + tenant + ".>"
}

// NewMsg builds the message that stores rec: published on its input subject
// with the record's ID as Nats-Msg-Id (for de-duplication) and its tenant
// sequence in LedgerSequenceHeader. Anything that publishes ledger events
// into the stream uses it (the forwarder, whichever store the events come
// from), so that readers get the same subject, id, sequence and payload.
// The caller checks that tenant and type are valid tokens (see ValidToken)
// and adds its own ordering check.
func NewMsg(rec events.Record) *nats.Msg {
	msg := nats.NewMsg(InputSubject(rec.Tenant, rec.Type))
	msg.Header.Set(natsjs.MsgIDHeader, rec.ID)
	msg.Header.Set(LedgerSequenceHeader, strconv.FormatUint(rec.Sequence, 10))
	msg.Data = rec.Data
	return msg
}

// RecordFromMsg rebuilds the record a stored message holds, from a message
// that carries JetStream's Nats-Subject and Nats-Sequence headers: a direct
// get reply or a message re-published on PublicSubjects. Without
// Nats-Subject it takes the message's own subject. The record's Position is
// the message's LEDGER sequence; the store's own position of a forwarded
// event is in its Ledger-Position header.
func RecordFromMsg(msg *nats.Msg) (events.Record, error) {
	subject := msg.Header.Get(natsjs.SubjectHeader)
	if subject == "" {
		subject = msg.Subject
	}
	seq, err := strconv.ParseUint(msg.Header.Get(natsjs.SequenceHeader), 10, 64)
	if err != nil {
		return events.Record{}, fmt.Errorf("jetstream: message on %s has no stream sequence: %w", subject, err)
	}
	return recordFrom(subject, seq, msg.Header, msg.Data)
}

// RecordFromStreamMsg rebuilds the record a message delivered by a JetStream
// consumer of the LEDGER stream holds.
func RecordFromStreamMsg(msg natsjs.Msg) (events.Record, error) {
	meta, err := msg.Metadata()
	if err != nil {
		return events.Record{}, fmt.Errorf("jetstream: message on %s: %w", msg.Subject(), err)
	}
	return recordFrom(msg.Subject(), meta.Sequence.Stream, msg.Headers(), msg.Data())
}

// recordFrom builds a record from a stored subject, stream sequence, headers
// and payload.
func recordFrom(subject string, streamSeq uint64, hdr nats.Header, data []byte) (events.Record, error) {
	tenant, eventType, err := splitStoredSubject(subject)
	if err != nil {
		return events.Record{}, err
	}
	id := hdr.Get(natsjs.MsgIDHeader)
	if id == "" {
		return events.Record{}, fmt.Errorf("jetstream: message %d on %s has no %s", streamSeq, subject, natsjs.MsgIDHeader)
	}
	seq, err := strconv.ParseUint(hdr.Get(LedgerSequenceHeader), 10, 64)
	if err != nil {
		return events.Record{}, fmt.Errorf("jetstream: message %d on %s: bad %s: %w", streamSeq, subject, LedgerSequenceHeader, err)
	}
	return events.Record{
		ID:       id,
		Tenant:   tenant,
		Type:     eventType,
		Sequence: seq,
		Position: events.Position(streamSeq),
		Data:     data,
	}, nil
}

// errNotLedgerSubject reports a stored subject outside the ledger's layout.
var errNotLedgerSubject = errors.New("jetstream: not a ledger subject")

// splitStoredSubject takes ledger.<tenant>.<type> apart.
func splitStoredSubject(subject string) (tenant, eventType string, err error) {
	rest, ok := strings.CutPrefix(subject, publicPrefix)
	if !ok {
		return "", "", fmt.Errorf("%w: %q", errNotLedgerSubject, subject)
	}
	tenant, eventType, ok = strings.Cut(rest, ".")
	if !ok || !ValidToken(tenant) || !ValidToken(eventType) {
		return "", "", fmt.Errorf("%w: %q", errNotLedgerSubject, subject)
	}
	return tenant, eventType, nil
}
