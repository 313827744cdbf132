package jetstream

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/licensing-ledger/ledger/events"
)

// The commit log: the stream the store keeps the ledger's events in, one
// message per append on one subject per tenant. It is the ledger's own
// record of truth, not a contract: downstream consumers read LEDGER, which a
// forwarder (infra/forward) fills from this log.
const (
	// LogStreamName is the JetStream stream holding the commit log.
	LogStreamName = "LEDGER_LOG"
	// LogSubjects matches the log's subjects, ledger-log.<tenant>.
	LogSubjects = "ledger-log.*"
	logPrefix   = "ledger-log."
)

// CountHeader carries how many records a log message holds (decimal). A
// log message also carries its first record's tenant sequence in
// LedgerSequenceHeader. Messages of earlier releases carry the first
// record's ID as Nats-Msg-Id too; readers check it when it is there.
const CountHeader = "Ledger-Count"

// LogSubject is the subject of the tenant's appends in the commit log. The
// tenant must be a valid token (see ValidToken).
func LogSubject(tenant string) string { return logPrefix + tenant }

// EnsureLogStream creates the LEDGER_LOG stream, or updates an existing one
// to this configuration. When the server cannot be reached the error wraps
// events.ErrUnavailable.
func EnsureLogStream(ctx context.Context, js natsjs.JetStream, cfg StreamConfig) (natsjs.Stream, error) {
	stream, err := js.CreateOrUpdateStream(ctx, logStreamConfig(cfg))
	if err != nil {
		return nil, classify("ensure stream "+LogStreamName, err)
	}
	return stream, nil
}

// logStreamConfig builds the LEDGER_LOG stream configuration: history is
// never dropped to make room (DiscardNew, no limits) and never edited: the
// server refuses to delete a message or purge the stream, and a stream
// update cannot take those refusals back.
func logStreamConfig(cfg StreamConfig) natsjs.StreamConfig {
	replicas, duplicates := cfg.defaults()
	return natsjs.StreamConfig{
		Name:        LogStreamName,
		Description: "Licensing ledger commit log: one message per append, one subject per tenant",
		Subjects:    []string{LogSubjects},
		Storage:     natsjs.FileStorage,
		Retention:   natsjs.LimitsPolicy,
		Discard:     natsjs.DiscardNew,
		Replicas:    replicas,
		Duplicates:  duplicates,
		AllowDirect: true,
		DenyDelete:  true,
		DenyPurge:   true,
	}
}

// newLogMsg builds the message that appends recs (one or more records of
// the tenant, validated) after expected: the framed records as body, the
// first record's tenant sequence and the number of records in headers, and
// the concurrency check: the tenant's subject must still end with the
// message holding expected.
//
// It carries no Nats-Msg-Id: the concurrency check already makes an append
// at-most-once. A retry of a stored append expects the same place, which
// the stored append has filled, so the server refuses it, and Append's
// settle reads the message after that place back and answers the retry
// when it holds the same records (events.SameRecords), within JetStream's
// duplicate window or long after it. The window would only cost the server
// a lookup and an entry per append, kept for two minutes.
func newLogMsg(tenant string, expected events.Cursor, recs []events.Record) *nats.Msg {
	values := [...]string{
		strconv.FormatUint(recs[0].Sequence, 10),
		strconv.Itoa(len(recs)),
		strconv.FormatUint(msgSeq(expected.Position), 10),
	}
	return &nats.Msg{
		Subject: LogSubject(tenant),
		Header: nats.Header{
			LedgerSequenceHeader:             values[0:1:1],
			CountHeader:                      values[1:2:2],
			natsjs.ExpectedLastSubjSeqHeader: values[2:3:3],
		},
		Data: encodeFrames(recs),
	}
}

// logMsg is a stored log message as read back.
type logMsg struct {
	subject   string
	streamSeq uint64
	header    nats.Header
	body      []byte
}

// logMsgFromDirectGet takes a direct get reply, which carries the stored
// subject and sequence in headers.
func logMsgFromDirectGet(msg *nats.Msg) (logMsg, error) {
	seq, err := strconv.ParseUint(msg.Header.Get(natsjs.SequenceHeader), 10, 64)
	if err != nil {
		return logMsg{}, fmt.Errorf("jetstream: log message has no stream sequence: %w", err)
	}
	return logMsg{subject: msg.Header.Get(natsjs.SubjectHeader), streamSeq: seq, header: msg.Header, body: msg.Data}, nil
}

// logMsgFromConsumer takes a message delivered by a consumer of the log.
func logMsgFromConsumer(msg natsjs.Msg) (logMsg, error) {
	meta, err := msg.Metadata()
	if err != nil {
		return logMsg{}, fmt.Errorf("jetstream: log message on %s: %w", msg.Subject(), err)
	}
	return logMsg{subject: msg.Subject(), streamSeq: meta.Sequence.Stream, header: msg.Headers(), body: msg.Data()}, nil
}

// records calls fn with each record of the message positioned after the
// position, in order, and returns fn's error as it is.
func (m logMsg) records(after events.Position, fn func(events.Record) error) error {
	head, err := m.parseHeaders()
	if err != nil {
		return err
	}
	i := 0
	err = decodeFrames(m.body, func(f frame) error {
		rec, err := head.record(m, f, i)
		i++
		if err != nil || rec.Position <= after {
			return err
		}
		return fn(rec)
	})
	if err == nil && i != head.count {
		err = fmt.Errorf("jetstream: log message %d holds %d records, its %s says %d", m.streamSeq, i, CountHeader, head.count)
	}
	return err
}

// logHeaders is what the headers of a log message say.
type logHeaders struct {
	tenant   string
	firstID  string // "" unless the message has a Nats-Msg-Id (earlier releases)
	firstSeq uint64
	count    int
}

// parseHeaders reads and checks the subject and headers of a log message.
func (m logMsg) parseHeaders() (logHeaders, error) {
	tenant, ok := strings.CutPrefix(m.subject, logPrefix)
	if !ok || !ValidToken(tenant) {
		return logHeaders{}, fmt.Errorf("%w: %q", errNotLedgerSubject, m.subject)
	}
	seq, err1 := strconv.ParseUint(m.header.Get(LedgerSequenceHeader), 10, 64)
	count, err2 := strconv.Atoi(m.header.Get(CountHeader))
	if err1 != nil || err2 != nil || count < 1 || count > MaxAppend || m.streamSeq >= 1<<(64-indexBits) {
		return logHeaders{}, fmt.Errorf("jetstream: log message %d on %s: bad %s or %s header", m.streamSeq, m.subject, LedgerSequenceHeader, CountHeader)
	}
	return logHeaders{tenant: tenant, firstID: m.header.Get(natsjs.MsgIDHeader), firstSeq: seq, count: count}, nil
}

// record builds the i-th record of the message from its frame.
func (h logHeaders) record(m logMsg, f frame, i int) (events.Record, error) {
	if i >= h.count || (i == 0 && h.firstID != "" && f.id != h.firstID) || f.id == "" || !ValidToken(f.eventType) {
		return events.Record{}, fmt.Errorf("jetstream: log message %d on %s: record %d does not match the headers: %w", m.streamSeq, m.subject, i+1, errBadFrame)
	}
	return events.Record{
		ID:       f.id,
		Tenant:   h.tenant,
		Type:     f.eventType,
		Sequence: h.firstSeq + uint64(i),
		Position: recordPosition(m.streamSeq, i, h.count),
		Data:     f.data,
	}, nil
}
