package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/internal/backoff"
)

// Log keeps a ledger's signed checkpoints, append-only, and publishes each
// to witnesses and monitors. It is never the event store: a history and
// the checkpoints that vouch for it are kept apart.
type Log interface {
	// Append stores and publishes a tenant's new signed checkpoint.
	Append(ctx context.Context, tenant string, signed []byte) error
	// Latest returns the tenant's latest signed checkpoint, nil if none.
	Latest(ctx context.Context, tenant string) ([]byte, error)
	// Tenants returns the tenants that have checkpoints.
	Tenants(ctx context.Context) ([]string, error)
}

// AllLog is a Log that can also replay a tenant's every checkpoint, oldest
// first. With one, an issuer that finds a tenant damaged names the first
// checkpoint its events no longer match, hence the events where the
// history first differs.
type AllLog interface {
	Log
	All(ctx context.Context, tenant string, fn func(signed []byte) error) error
}

// ErrNoCheckpoint is returned for a tenant without events, hence without
// a checkpoint.
var ErrNoCheckpoint = errors.New("checkpoint: the tenant has no checkpoint yet")

// ErrDamaged wraps the reason a tenant's history no longer matches its
// latest stored checkpoint: the ledger signs nothing more for it.
var ErrDamaged = errors.New("checkpoint: the tenant's history does not match its checkpoint")

// DefaultInterval is how often, at most, a tenant with new events gets a
// new checkpoint.
const DefaultInterval = time.Second

// IssuerConfig is what an Issuer needs.
type IssuerConfig struct {
	Store    events.Store // followed from its first event
	Log      Log
	Signer   *Signer
	Name     string        // the ledger's name in origins (Origin); the key's name if empty
	Interval time.Duration // DefaultInterval if zero
	Logger   *slog.Logger
}

// Issuer keeps every tenant's tree as the store's events arrive (a compact
// range per tenant, rebuilt from the events at start) and signs a
// checkpoint for each tenant with new events at most once per interval and
// when it stops. At start it checks each tenant's rebuilt tree against its
// latest stored checkpoint: a tenant that does not match is damaged, and
// is never signed again.
type Issuer struct {
	cfg     IssuerConfig
	mu      sync.Mutex
	tenants map[string]*tenantLog
	pos     events.Position
	head    events.Position // the store's head at start
	ready   chan struct{}   // closed once the trees reach head
	issueMu sync.Mutex      // one signing at a time
	stats   stats
	runCtx  context.Context // Run's, for diagnoses
}

// stats counts the issuer's work, for ledgerbench.
type stats struct {
	events, signed, busy atomic.Int64 // busy: nanoseconds hashing, signing and storing
}

// Stats is what an issuer did since it started.
type Stats struct {
	Events int64         // events hashed into the trees
	Signed int64         // checkpoints signed and stored
	Busy   time.Duration // time spent hashing, signing and storing them
}

// Stats returns what the issuer did since it started.
func (i *Issuer) Stats() Stats {
	return Stats{Events: i.stats.events.Load(), Signed: i.stats.signed.Load(), Busy: time.Duration(i.stats.busy.Load())}
}

// tenantLog is the issuer's state of one tenant.
type tenantLog struct {
	tree    *Tree
	signed  *Checkpoint
	expect  *Checkpoint // the stored checkpoint to check once the tree reaches its size
	damaged error
}

// NewIssuer returns an issuer; Run starts it.
func NewIssuer(cfg IssuerConfig) *Issuer {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Name == "" {
		cfg.Name = cfg.Signer.Name()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Issuer{cfg: cfg, tenants: map[string]*tenantLog{}, ready: make(chan struct{})}
}

// Origin returns a tenant's origin.
func (i *Issuer) Origin(tenant string) string { return Origin(i.cfg.Name, tenant) }

// VerifierKey returns the public key of the issuer's signer.
func (i *Issuer) VerifierKey() string { return i.cfg.Signer.VerifierKey() }

// Run loads the stored checkpoints, follows the store and issues
// checkpoints until ctx ends; it issues a last round then.
func (i *Issuer) Run(ctx context.Context) error {
	i.mu.Lock()
	i.runCtx = ctx
	i.mu.Unlock()
	if err := i.load(ctx); err != nil {
		return err
	}
	head, err := i.cfg.Store.Head(ctx)
	if err != nil {
		return fmt.Errorf("checkpoints: the store's head: %w", err)
	}
	i.head = head
	i.markReady()
	go i.follow(ctx)
	t := time.NewTicker(i.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			i.final()
			return nil
		case <-t.C:
			i.issueAll(ctx)
		}
	}
}

// load reads each tenant's latest stored checkpoint, to check the rebuilt
// trees against.
func (i *Issuer) load(ctx context.Context) error {
	tenants, err := i.cfg.Log.Tenants(ctx)
	if err != nil {
		return fmt.Errorf("checkpoints: listing the stored ones: %w", err)
	}
	for _, tenant := range tenants {
		raw, err := i.cfg.Log.Latest(ctx, tenant)
		if err != nil || raw == nil {
			return fmt.Errorf("checkpoints: reading tenant %s's latest: %w", tenant, err)
		}
		cp, err := Parse(raw)
		if err != nil {
			i.cfg.Logger.Error("a stored checkpoint does not parse", "tenant", tenant, "err", err)
			continue
		}
		t := i.tenant(tenant)
		t.signed, t.expect = cp, cp
	}
	return nil
}

// follow feeds the trees from the store, resuming after failures.
func (i *Issuer) follow(ctx context.Context) {
	var b backoff.Backoff
	for ctx.Err() == nil {
		before := i.position()
		err := i.cfg.Store.Subscribe(ctx, before, i.apply)
		if ctx.Err() != nil {
			return
		}
		i.cfg.Logger.Warn("checkpoints: following the store failed; resuming", "err", err)
		backoff.Sleep(ctx, b.Next(i.position() > before))
	}
}

// apply adds one stored event to its tenant's tree.
func (i *Issuer) apply(r events.Record) error {
	defer i.timed(time.Now())
	i.stats.events.Add(1)
	i.mu.Lock()
	defer i.mu.Unlock()
	i.pos = r.Position
	defer i.markReadyLocked()
	t := i.tenant(r.Tenant)
	size := t.tree.Size()
	if r.Sequence <= size {
		return nil // delivered again
	}
	if r.Sequence != size+1 && t.damaged == nil {
		t.damaged = fmt.Errorf("%w: event %s has sequence %d after sequence %d", ErrDamaged, r.ID, r.Sequence, size)
	}
	t.tree.Append(LeafHash(r.Data))
	if e := t.expect; e != nil && e.Size == t.tree.Size() {
		t.expect = nil
		if err := checkRoot(t.tree, e); err != nil && t.damaged == nil {
			t.damaged = fmt.Errorf("%w: %w", ErrDamaged, err)
			i.cfg.Logger.Error("the tenant's history does not match its latest checkpoint: no more checkpoints for it", "tenant", r.Tenant, "err", err)
			go i.diagnose(i.runCtx, r.Tenant)
		}
	}
	return nil
}

// checkRoot checks that a tree of cp's size has its root.
func checkRoot(t *Tree, cp *Checkpoint) error {
	if t.Size() == cp.Size && string(t.Root()) == string(cp.Root) {
		return nil
	}
	return &Mismatch{Kind: KindDiffers, Checkpoint: cp, From: 1, To: cp.Size}
}

func (i *Issuer) position() events.Position {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.pos
}

func (i *Issuer) markReady() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.markReadyLocked()
}

// markReadyLocked closes ready once the trees hold the store's events as
// of the start, and then finds tenants cut shorter than their checkpoint.
func (i *Issuer) markReadyLocked() {
	select {
	case <-i.ready:
		return
	default:
	}
	if i.pos < i.head {
		return
	}
	for tenant, t := range i.tenants {
		if e := t.expect; e != nil && t.tree.Size() < e.Size && t.damaged == nil {
			m := &Mismatch{Kind: KindTruncated, Checkpoint: e, Size: t.tree.Size()}
			t.damaged = fmt.Errorf("%w: %w", ErrDamaged, m)
			i.cfg.Logger.Error("the tenant's history is shorter than its latest checkpoint: no more checkpoints for it", "tenant", tenant, "err", m)
		}
	}
	close(i.ready)
	i.cfg.Logger.Info("checkpoints: trees rebuilt from the store", "tenants", len(i.tenants), "position", i.pos)
}

// tenant returns a tenant's state, created empty.
func (i *Issuer) tenant(tenant string) *tenantLog {
	t, ok := i.tenants[tenant]
	if !ok {
		t = &tenantLog{tree: NewTree()}
		i.tenants[tenant] = t
	}
	return t
}

// issueAll signs a checkpoint for each tenant with new events.
func (i *Issuer) issueAll(ctx context.Context) {
	select {
	case <-i.ready:
	default:
		return
	}
	for _, tenant := range i.dirty() {
		if _, err := i.issue(ctx, tenant); err != nil && ctx.Err() == nil {
			i.cfg.Logger.Warn("issuing a checkpoint failed; retried at the next interval", "tenant", tenant, "err", err)
		}
	}
}

// final issues a last round when the issuer stops.
func (i *Issuer) final() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	i.issueAll(ctx)
}

// dirty returns the tenants whose tree has grown since their checkpoint.
func (i *Issuer) dirty() []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	var out []string
	for tenant, t := range i.tenants {
		if t.damaged == nil && (t.signed == nil || t.tree.Size() > t.signed.Size) {
			out = append(out, tenant)
		}
	}
	return out
}

// issue signs and stores the tenant's checkpoint if its tree grew, and
// returns its latest checkpoint.
func (i *Issuer) issue(ctx context.Context, tenant string) (*Checkpoint, error) {
	i.issueMu.Lock()
	defer i.issueMu.Unlock()
	i.mu.Lock()
	t := i.tenant(tenant)
	signed, damaged, size, root := t.signed, t.damaged, t.tree.Size(), t.tree.Root()
	i.mu.Unlock()
	if damaged != nil || size == 0 || (signed != nil && signed.Size == size) {
		return signed, damaged
	}
	defer i.timed(time.Now())
	note, err := i.cfg.Signer.Sign(i.Origin(tenant), size, root)
	if err != nil {
		return signed, err
	}
	if err := i.cfg.Log.Append(ctx, tenant, note); err != nil {
		return signed, err
	}
	i.stats.signed.Add(1)
	cp := &Checkpoint{Origin: i.Origin(tenant), Size: size, Root: root, Note: note, Keys: []string{keyID(i.cfg.Signer)}}
	i.mu.Lock()
	t.signed = cp
	i.mu.Unlock()
	i.cfg.Logger.Debug("checkpoint issued", "tenant", tenant, "size", size)
	return cp, nil
}

// timed adds the time since start to the busy time.
func (i *Issuer) timed(start time.Time) { i.stats.busy.Add(int64(time.Since(start))) }

func keyID(s *Signer) string { return fmt.Sprintf("%s+%08x", s.Name(), s.s.KeyHash()) }

// Latest returns the tenant's latest checkpoint covering every event the
// store held when it was called: it waits (at most a few seconds) for the
// tree to reach the store's head and signs a new checkpoint if the tree
// grew. A damaged tenant's is its last one, with an error wrapping
// ErrDamaged; a tenant without events has ErrNoCheckpoint.
func (i *Issuer) Latest(ctx context.Context, tenant string) (*Checkpoint, error) {
	if err := i.catchUp(ctx); err != nil {
		return nil, err
	}
	cp, err := i.issue(ctx, tenant)
	if cp == nil && err == nil {
		err = ErrNoCheckpoint
	}
	return cp, err
}

// catchUp waits until the trees hold every event stored now.
func (i *Issuer) catchUp(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	select {
	case <-i.ready:
	case <-ctx.Done():
		return fmt.Errorf("checkpoints: still rebuilding the trees: %w", events.ErrUnavailable)
	}
	head, err := i.cfg.Store.Head(ctx)
	if err != nil {
		return err
	}
	for i.position() < head {
		if !backoff.Sleep(ctx, 2*time.Millisecond) {
			return fmt.Errorf("checkpoints: the trees lag behind the store: %w", events.ErrUnavailable)
		}
	}
	return nil
}

// Damaged returns why the tenant's history does not match its latest
// checkpoint, or nil.
func (i *Issuer) Damaged(tenant string) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if t, ok := i.tenants[tenant]; ok {
		return t.damaged
	}
	return nil
}

// Check is the hook of the ledger's own history check: the leaf hashes of
// a tenant's events as just read, in sequence order (ids names them for
// messages), must extend the tenant's latest checkpoint. It returns nil, or
// a *Mismatch naming the first sequence the checkpoint does not confirm.
func (i *Issuer) Check(tenant string, ids []string, leaves [][]byte) error {
	i.mu.Lock()
	var cp *Checkpoint
	if t, ok := i.tenants[tenant]; ok {
		cp = t.signed
	}
	i.mu.Unlock()
	if cp == nil {
		return nil
	}
	return CheckLeaves(ids, leaves, cp)
}

// Signed returns the tenant's latest checkpoint as the issuer holds it,
// without waiting or signing: nil for a tenant without one.
func (i *Issuer) Signed(tenant string) *Checkpoint {
	i.mu.Lock()
	defer i.mu.Unlock()
	if t, ok := i.tenants[tenant]; ok {
		return t.signed
	}
	return nil
}

// diagnose narrows down where a damaged tenant's history first differs:
// it reads every stored checkpoint of the tenant and the tenant's events,
// and names the events between the last checkpoint they match and the
// first they do not (checkpoints are signed about once a second).
func (i *Issuer) diagnose(ctx context.Context, tenant string) {
	all, ok := i.cfg.Log.(AllLog)
	if !ok || ctx == nil {
		return
	}
	var cps []*Checkpoint
	err := all.All(ctx, tenant, func(signed []byte) error {
		if cp, err := Parse(signed); err == nil {
			cps = append(cps, cp)
		}
		return nil
	})
	h := NewHistory(cps...)
	if err == nil {
		err = i.cfg.Store.Read(ctx, tenant, events.Cursor{}, func(r events.Record) error {
			_ = h.Add(r.ID, LeafHash(r.Data))
			return nil
		})
	}
	if err != nil {
		i.cfg.Logger.Warn("could not narrow down where the damaged history differs", "tenant", tenant, "err", err)
		return
	}
	found := h.Done()
	if found == nil {
		return
	}
	i.mu.Lock()
	i.tenant(tenant).damaged = fmt.Errorf("%w: %w", ErrDamaged, found)
	i.mu.Unlock()
	i.cfg.Logger.Error("the damaged history first differs here", "tenant", tenant, "err", found, "checkpoints", len(cps))
}

// WaitReady waits until the trees hold the store's events as of the start,
// and so until every tenant whose history no longer matches its latest
// checkpoint is known (Damaged), or ctx ends.
func (i *Issuer) WaitReady(ctx context.Context) error {
	select {
	case <-i.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// DamagedTenants returns every tenant whose history does not match its
// latest checkpoint, with why.
func (i *Issuer) DamagedTenants() map[string]error {
	i.mu.Lock()
	defer i.mu.Unlock()
	out := map[string]error{}
	for tenant, t := range i.tenants {
		if t.damaged != nil {
			out[tenant] = t.damaged
		}
	}
	return out
}
