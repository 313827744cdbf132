package checkpoint

import (
	"errors"
	"fmt"

	"github.com/licensing-ledger/ledger/audit"
)

// ExportOptions say what an export must prove.
type ExportOptions struct {
	// Keys are the verifier keys the auditor trusts (several while a key
	// is rotated). Required.
	Keys *Verifiers
	// Kept are checkpoints the auditor kept from earlier audits (signed
	// notes): the export must extend each of them.
	Kept [][]byte
	// Tenant, if set, is the tenant the export must be of.
	Tenant string
	// Progress, if set, is called every audit.ProgressEvery events.
	Progress func(n int)
	// Previous, if set, is an earlier export that verified against the
	// keys (ReadPrevious): the events it holds are the ones the ledger
	// signed, so a change is named exactly, and a cut or a rewrite of what
	// it holds is found even without a kept checkpoint.
	Previous *Previous
	// leaf, if set, is called with each event's id and leaf hash.
	leaf func(id string, leafHash []byte)
}

// Previous is an earlier export of the tenant that verified against a
// checkpoint signed by a trusted key: its events' leaf hashes, by
// sequence, are those the ledger signed.
type Previous struct {
	IDs        []string
	Leaves     [][]byte
	Checkpoint *Checkpoint
}

// ReadPrevious verifies an earlier export (VerifyExport, with o's keys,
// kept checkpoints and tenant) and keeps its events' ids and leaf hashes.
func ReadPrevious(d *audit.Decoder, o ExportOptions) (*Previous, error) {
	p := &Previous{}
	o.Previous, o.leaf = nil, func(id string, leaf []byte) {
		p.IDs, p.Leaves = append(p.IDs, id), append(p.Leaves, leaf)
	}
	sum, err := VerifyExport(d, o)
	if err != nil {
		return nil, fmt.Errorf("the previous export does not verify: %w", err)
	}
	p.Checkpoint = sum.Checkpoint
	return p, nil
}

// ExportSummary is an export that verified against signed checkpoints.
type ExportSummary struct {
	audit.Summary
	Checkpoint *Checkpoint   // the signed checkpoint covering the whole export
	Kept       []*Checkpoint // the kept checkpoints it extends
}

// Unsigned is an export that no trusted checkpoint covers, or whose
// checkpoint is not trusted: its events may have been forged.
type Unsigned struct{ Reason string }

// Error says why nothing trusted vouches for the export.
func (u *Unsigned) Error() string { return "unsigned: " + u.Reason }

// VerifyExport checks an export against signed checkpoints (L8): its hash
// chain (audit.Verify), then that its events hash to the root of a
// checkpoint signed by a trusted key that covers the whole export, and that
// every kept checkpoint is a prefix of it. It returns a *audit.Break, a
// *Mismatch or an *Unsigned for a history that does not verify, whichever
// names the earliest event; other errors are read failures or bad input.
func VerifyExport(d *audit.Decoder, o ExportOptions) (ExportSummary, error) {
	kept, err := openAll(o.Keys, o.Kept, o.Tenant)
	if err != nil {
		return ExportSummary{}, err
	}
	v := &exportCheck{d: d, o: o, kept: kept}
	return v.run()
}

// exportCheck is the state of one VerifyExport.
type exportCheck struct {
	d       *audit.Decoder
	o       ExportOptions
	kept    []*Checkpoint
	carried *Checkpoint
	hist    *History
	merkle  error // the first mismatch, kept while the chain goes on
}

func (v *exportCheck) run() (ExportSummary, error) {
	sum, chainErr := audit.Verify(v.d, audit.VerifyOptions{Progress: v.o.Progress, Accepted: v.accept})
	var b *audit.Break
	if chainErr != nil && !errors.As(chainErr, &b) {
		return ExportSummary{Summary: sum}, chainErr
	}
	if v.hist == nil { // no event: the checkpoint line, if any, is read now
		if err := v.start(); err != nil && chainErr == nil {
			return ExportSummary{Summary: sum}, err
		}
	}
	if chainErr != nil {
		return ExportSummary{Summary: sum}, v.earliest(b)
	}
	if v.merkle == nil {
		v.merkle = v.hist.Done()
	}
	if v.merkle != nil {
		return ExportSummary{Summary: sum}, v.merkle
	}
	return ExportSummary{Summary: sum, Checkpoint: v.carried, Kept: v.kept}, v.covered(sum)
}

// accept feeds the tree with each line the chain accepted.
func (v *exportCheck) accept(l audit.Line) {
	if v.hist == nil {
		if err := v.start(); err != nil {
			v.merkle = err
		}
		if v.o.Tenant == "" {
			v.o.Tenant = l.Tenant
		}
		if err := v.checkTenant(l.Tenant); err != nil && v.merkle == nil {
			v.merkle = err
		}
	}
	leaf := LeafHash(l.Data)
	if v.o.leaf != nil {
		v.o.leaf(l.ID, leaf)
	}
	if v.merkle == nil {
		v.merkle = v.hist.Add(l.ID, leaf)
	}
}

// start opens the export's own checkpoint, once its first line is read.
func (v *exportCheck) start() error {
	cps := v.kept
	if p := v.o.Previous; p != nil && p.Checkpoint != nil {
		cps = append(cps, p.Checkpoint)
	}
	v.hist = NewHistory()
	if raw := v.d.Checkpoint(); raw != nil {
		cp, err := v.o.Keys.Open(raw)
		if err != nil {
			return &Unsigned{Reason: "the export's checkpoint: " + err.Error()}
		}
		v.carried = cp
		cps = append(cps, cp)
	}
	v.hist = NewHistory(cps...)
	v.hist.prev = v.o.Previous
	return nil
}

// checkTenant refuses checkpoints of another tenant than the export's.
func (v *exportCheck) checkTenant(tenant string) error {
	for _, cp := range append([]*Checkpoint{v.carried}, v.kept...) {
		if cp != nil && cp.Tenant() != tenant {
			return fmt.Errorf("%s is of tenant %q, the export of tenant %q", cp, cp.Tenant(), tenant)
		}
	}
	return nil
}

// earliest returns the chain's break or the tree's mismatch, whichever
// names the earlier event; the chain's names it exactly, so it wins a tie.
func (v *exportCheck) earliest(b *audit.Break) error {
	var m *Mismatch
	if errors.As(v.merkle, &m) && m.Kind == KindDiffers && m.To < b.Sequence {
		return m
	}
	if v.merkle != nil && m == nil {
		return v.merkle
	}
	return b
}

// covered requires a trusted checkpoint of exactly the export's size.
func (v *exportCheck) covered(sum audit.Summary) error {
	n := uint64(sum.Events)
	if v.carried != nil && v.carried.Size == n {
		return nil
	}
	for _, cp := range v.kept {
		if cp.Size == n && n > 0 {
			v.carried = cp
			return nil
		}
	}
	switch {
	case v.carried != nil:
		return &Unsigned{Reason: fmt.Sprintf("the export holds %d events, its checkpoint covers %d: %s signed by no trusted checkpoint (appended after it, or forged)", n, v.carried.Size, seqs(v.carried.Size+1, n))}
	case n == 0:
		return &Unsigned{Reason: "the export holds no event and no checkpoint signed by a trusted key: there is nothing to trust"}
	}
	return &Unsigned{Reason: fmt.Sprintf("the export holds %d events and no checkpoint signed by a trusted key covers them: its head is unsigned", n)}
}

// openAll verifies the kept checkpoints.
func openAll(keys *Verifiers, notes [][]byte, tenant string) ([]*Checkpoint, error) {
	if keys == nil {
		return nil, errors.New("no verifier key: give the ledger's public key")
	}
	var cps []*Checkpoint
	for i, n := range notes {
		cp, err := keys.Open(n)
		if err != nil {
			return nil, fmt.Errorf("kept checkpoint %d: %w", i+1, err)
		}
		if tenant != "" && cp.Tenant() != tenant {
			return nil, fmt.Errorf("kept checkpoint %d is of tenant %q, not %q", i+1, cp.Tenant(), tenant)
		}
		cps = append(cps, cp)
	}
	return cps, nil
}

// seqs names a range of sequences for messages.
func seqs(from, to uint64) string {
	if from == to {
		return fmt.Sprintf("sequence %d is", from)
	}
	return fmt.Sprintf("sequences %d to %d are", from, to)
}
