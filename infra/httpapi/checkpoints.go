package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/licensing-ledger/ledger/checkpoint"
	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/events"
)

// Checkpoints is what the API needs of the ledger's checkpoint issuer
// (checkpoint.Issuer): the latest signed checkpoint of a tenant and the
// public key that verifies them.
type Checkpoints interface {
	Latest(ctx context.Context, tenant string) (*checkpoint.Checkpoint, error)
	VerifierKey() string
}

// Headers of the checkpoint routes.
const (
	HeaderCheckpointSize = "Ledger-Checkpoint-Size"
	HeaderDamaged        = "Ledger-Damaged"
)

// checkpointKey answers the verifier key of the ledger's checkpoints, in
// the signed-note key format (name+hash+key), one line. It is public: it
// is what auditors and witnesses trust, and proves nothing by itself.
func (a *auditAPI) checkpointKey(w http.ResponseWriter, r *http.Request) {
	if a.checkpoints == nil {
		writeError(w, domain.Errorf(domain.CodeNotFound, "this server signs no checkpoints"))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(a.checkpoints.VerifierKey() + "\n"))
}

// checkpoint answers the tenant's latest signed checkpoint, covering every
// event stored when asked, as the signed note itself.
func (a *auditAPI) checkpoint(w http.ResponseWriter, r *http.Request) {
	tenant, ok := a.authorizeCheckpoints(w, r)
	if !ok {
		return
	}
	cp, ok := a.latest(w, r, tenant)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set(HeaderCheckpointSize, strconv.FormatUint(cp.Size, 10))
	_, _ = w.Write(cp.Note)
}

// inclusion answers the proof that ?event= is in the tenant's tree of
// ?size= leaves (default: the latest checkpoint's), with the event's bytes.
func (a *auditAPI) inclusion(w http.ResponseWriter, r *http.Request) {
	tenant, ok := a.authorizeCheckpoints(w, r)
	if !ok {
		return
	}
	event := r.URL.Query().Get("event")
	if event == "" {
		writeError(w, domain.Errorf(domain.CodeValidationFailed, "name the event: ?event=<id>"))
		return
	}
	size, ok := a.sizeParam(w, r, tenant, "size")
	if !ok {
		return
	}
	p, err := a.proveInclusion(r.Context(), tenant, event, size)
	if err != nil {
		a.proofError(w, r, tenant, err)
		return
	}
	a.s.writeJSON(w, http.StatusOK, p)
}

// consistency answers the proof that the tenant's tree of ?to= leaves
// (default: the latest checkpoint's) extends its tree of ?from= leaves.
func (a *auditAPI) consistency(w http.ResponseWriter, r *http.Request) {
	tenant, ok := a.authorizeCheckpoints(w, r)
	if !ok {
		return
	}
	from, err := strconv.ParseUint(r.URL.Query().Get("from"), 10, 64)
	if err != nil || from == 0 {
		writeError(w, domain.Errorf(domain.CodeValidationFailed, "from must be a tree size of at least 1, as a kept checkpoint's"))
		return
	}
	to, ok := a.sizeParam(w, r, tenant, "to")
	if !ok {
		return
	}
	if from > to {
		writeError(w, domain.Errorf(domain.CodeValidationFailed, "from (%d) is larger than to (%d)", from, to))
		return
	}
	tree, err := a.tree(r.Context(), tenant, to, "")
	if err == nil {
		var hashes [][]byte
		if hashes, err = tree.full.Consistency(from, to); err == nil {
			a.s.writeJSON(w, http.StatusOK, checkpoint.ConsistencyProof{Tenant: tenant, From: from, To: to, Hashes: hashes})
			return
		}
	}
	a.proofError(w, r, tenant, err)
}

// authorizeCheckpoints lets the auditors (the export's roles) read the
// tenant's checkpoints and proofs.
func (a *auditAPI) authorizeCheckpoints(w http.ResponseWriter, r *http.Request) (string, bool) {
	tenant, ok := a.authorize(w, r, domain.QueryExport, "")
	if ok && a.checkpoints == nil {
		writeError(w, domain.Errorf(domain.CodeNotFound, "this server signs no checkpoints"))
		return "", false
	}
	return tenant, ok
}

// latest returns the tenant's latest checkpoint, or answers why there is
// none. A damaged tenant's last checkpoint is answered with the reason in
// a header: it is the evidence an auditor verifies the history against.
func (a *auditAPI) latest(w http.ResponseWriter, r *http.Request, tenant string) (*checkpoint.Checkpoint, bool) {
	cp, err := a.checkpoints.Latest(r.Context(), tenant)
	switch {
	case errors.Is(err, checkpoint.ErrDamaged) && cp != nil:
		a.s.log.Error("the tenant's history does not match its latest checkpoint", "tenant", tenant, "err", err)
		w.Header().Set(HeaderDamaged, err.Error())
		return cp, true
	case errors.Is(err, checkpoint.ErrNoCheckpoint):
		writeError(w, domain.Errorf(domain.CodeNotFound, "tenant %q has no events, hence no checkpoint", tenant))
		return nil, false
	case err != nil:
		a.replayError(w, r, tenant, err)
		return nil, false
	}
	return cp, true
}

// sizeParam reads a tree size, by default the latest checkpoint's.
func (a *auditAPI) sizeParam(w http.ResponseWriter, r *http.Request, tenant, name string) (uint64, bool) {
	if v := r.URL.Query().Get(name); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			writeError(w, domain.Errorf(domain.CodeValidationFailed, "%s must be a tree size of at least 1, not %q", name, v))
			return 0, false
		}
		return n, true
	}
	cp, ok := a.latest(w, r, tenant)
	if !ok {
		return 0, false
	}
	return cp.Size, true
}

// storedTree is the tenant's tree of its first events, read from the store.
type storedTree struct {
	full  *checkpoint.FullTree
	index int64 // the index of the event looked for, -1 if not found
	data  []byte
}

var errEnough = errors.New("enough events")

// tree reads the tenant's first size events into a full tree, noting the
// event's index when it is among them.
func (a *auditAPI) tree(ctx context.Context, tenant string, size uint64, event string) (*storedTree, error) {
	t := &storedTree{full: checkpoint.NewFullTree(), index: -1}
	err := a.store.Read(ctx, tenant, events.Cursor{}, func(rec events.Record) error {
		if rec.ID == event && t.index < 0 {
			t.index, t.data = int64(t.full.Size()), rec.Data
		}
		t.full.Append(checkpoint.LeafHash(rec.Data))
		if t.full.Size() == size {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, err
	}
	if t.full.Size() < size {
		return nil, domain.Errorf(domain.CodeNotFound, "tenant %q holds %d events, not %d", tenant, t.full.Size(), size)
	}
	return t, nil
}

// proveInclusion builds the inclusion proof of an event.
func (a *auditAPI) proveInclusion(ctx context.Context, tenant, event string, size uint64) (*checkpoint.InclusionProof, error) {
	t, err := a.tree(ctx, tenant, size, event)
	if err != nil {
		return nil, err
	}
	if t.index < 0 {
		return nil, domain.Errorf(domain.CodeNotFound, "event %q is not among the first %d events of tenant %q", event, size, tenant)
	}
	idx := uint64(t.index)
	hashes, err := t.full.Inclusion(idx, size)
	if err != nil {
		return nil, err
	}
	return &checkpoint.InclusionProof{Tenant: tenant, Event: event, Sequence: idx + 1, Index: idx, Size: size,
		LeafHash: t.full.Leaf(idx), Hashes: hashes, Data: t.data}, nil
}

// proofError answers a failed proof.
func (a *auditAPI) proofError(w http.ResponseWriter, r *http.Request, tenant string, err error) {
	var de *domain.Error
	if errors.As(err, &de) {
		writeError(w, err)
		return
	}
	a.replayError(w, r, tenant, err)
}
