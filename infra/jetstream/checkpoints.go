package jetstream

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/licensing-ledger/ledger/checkpoint"
	"github.com/licensing-ledger/ledger/events"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

// The stream of signed checkpoints (L8) and its subjects. Each message is
// one C2SP signed note, published on CheckpointSubject(tenant): witnesses
// and monitors subscribe to CheckpointSubjects on core NATS, or read the
// stream from any point. It is append-only: no delete, no purge, every
// message kept.
const (
	CheckpointStreamName = "LEDGER_CHECKPOINTS"
	CheckpointSubjects   = "ledger-checkpoints.>"
	checkpointPrefix     = "ledger-checkpoints."
)

// CheckpointSubject returns the subject of a tenant's checkpoints.
func CheckpointSubject(tenant string) string { return checkpointPrefix + tenant }

// Checkpoints is the checkpoint.Log of a ledger on NATS, whichever store
// holds its events: the checkpoints never live beside the events in the
// same stream, and the signing key lives in neither.
type Checkpoints struct {
	js     natsjs.JetStream
	stream natsjs.Stream
}

var _ checkpoint.Log = (*Checkpoints)(nil)

// OpenCheckpoints creates or opens the checkpoint stream.
func OpenCheckpoints(ctx context.Context, js natsjs.JetStream, replicas int) (*Checkpoints, error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	stream, err := js.CreateOrUpdateStream(ctx, checkpointStreamConfig(replicas))
	if err != nil {
		return nil, fmt.Errorf("%w: opening the checkpoint stream: %v", events.ErrUnavailable, err)
	}
	return &Checkpoints{js: js, stream: stream}, nil
}

func checkpointStreamConfig(replicas int) natsjs.StreamConfig {
	return natsjs.StreamConfig{
		Name:              CheckpointStreamName,
		Description:       "the ledger's signed checkpoints, one C2SP signed note per message, per tenant: append-only",
		Subjects:          []string{CheckpointSubjects},
		Storage:           natsjs.FileStorage,
		Replicas:          max(replicas, 1),
		Retention:         natsjs.LimitsPolicy,
		MaxMsgsPerSubject: -1,
		DenyDelete:        true,
		DenyPurge:         true,
		AllowDirect:       true,
	}
}

// Append stores the tenant's checkpoint; core subscribers to its subject
// receive it at the same time.
func (c *Checkpoints) Append(ctx context.Context, tenant string, signed []byte) error {
	if !ValidToken(tenant) {
		return fmt.Errorf("jetstream: invalid tenant %q", tenant)
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	if _, err := c.js.Publish(ctx, CheckpointSubject(tenant), signed, natsjs.WithExpectStream(CheckpointStreamName)); err != nil {
		return fmt.Errorf("%w: storing a checkpoint of %s: %v", events.ErrUnavailable, tenant, err)
	}
	return nil
}

// Latest returns the tenant's latest checkpoint, nil if it has none.
func (c *Checkpoints) Latest(ctx context.Context, tenant string) ([]byte, error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	m, err := c.stream.GetLastMsgForSubject(ctx, CheckpointSubject(tenant))
	if errors.Is(err, natsjs.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading the checkpoint of %s: %v", events.ErrUnavailable, tenant, err)
	}
	return m.Data, nil
}

// Tenants returns the tenants that have checkpoints.
func (c *Checkpoints) Tenants(ctx context.Context) ([]string, error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	info, err := c.stream.Info(ctx, natsjs.WithSubjectFilter(CheckpointSubjects))
	if err != nil {
		return nil, fmt.Errorf("%w: listing the checkpoints: %v", events.ErrUnavailable, err)
	}
	var out []string
	for subj := range info.State.Subjects {
		out = append(out, strings.TrimPrefix(subj, checkpointPrefix))
	}
	return out, nil
}

// All calls fn with each of the tenant's checkpoints, oldest first, as
// stored when called: the issuer reads them to find where a damaged
// history first differs.
func (c *Checkpoints) All(ctx context.Context, tenant string, fn func(signed []byte) error) error {
	subj := CheckpointSubject(tenant)
	info, err := c.stream.Info(ctx, natsjs.WithSubjectFilter(subj))
	if err != nil {
		return fmt.Errorf("%w: listing the checkpoints of %s: %v", events.ErrUnavailable, tenant, err)
	}
	n := info.State.Subjects[subj]
	if n == 0 {
		return nil
	}
	cons, err := c.stream.OrderedConsumer(ctx, natsjs.OrderedConsumerConfig{FilterSubjects: []string{subj}})
	if err != nil {
		return fmt.Errorf("%w: reading the checkpoints of %s: %v", events.ErrUnavailable, tenant, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("%w: reading the checkpoints of %s: %v", events.ErrUnavailable, tenant, err)
	}
	defer it.Stop()
	for range n {
		m, err := it.Next(natsjs.NextContext(ctx))
		if err != nil {
			return fmt.Errorf("%w: reading the checkpoints of %s: %v", events.ErrUnavailable, tenant, err)
		}
		if err := fn(m.Data()); err != nil {
			return err
		}
	}
	return nil
}
