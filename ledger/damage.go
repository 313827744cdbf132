package ledger

import (
	"cmp"
	"slices"
	"time"

	"github.com/licensing-ledger/ledger/domain"
)

// Damage is a tenant whose stored history does not hold together when read
// from its first event: an event is missing, out of place, does not decode,
// or its bytes are not those the next event chained to. Such a history
// cannot be decided on, and reading it again does not mend it, so the
// tenant's commands and views are refused with CodeDamaged, without reading
// the store again, until an operator restores the history and restarts the
// service. Other tenants are not affected, and the tenant's auditors can
// still export what is stored (GET /events) to see the damage.
type Damage struct {
	Tenant string `json:"tenant"`
	// Sequence is the first event missing, altered or unreadable.
	Sequence uint64    `json:"sequence"`
	Reason   string    `json:"reason"`
	Since    time.Time `json:"since"`
}

// Err is the refusal of the tenant's commands and views.
func (d *Damage) Err() *domain.Error {
	return domain.Errorf(domain.CodeDamaged,
		"the history of tenant %q is damaged at event %d (%s): its commands and views are refused until an operator restores it; its auditors can still export it (GET /events, ledgerctl export) and check it with ledgerctl verify",
		d.Tenant, d.Sequence, d.Reason)
}

// markDamaged records that the aggregate's history is damaged, logs it
// once, and returns the refusal. The caller holds a.mu.
func (s *Service) markDamaged(a *aggregate, b *historyBreak) error {
	d := &Damage{Tenant: b.Tenant, Sequence: b.Sequence, Reason: b.Reason, Since: s.now().UTC()}
	a.view.Lock()
	a.damage, a.loaded = d, false
	a.view.Unlock()
	s.mu.Lock()
	s.damaged[d.Tenant] = *d
	s.mu.Unlock()
	s.log.Error("the tenant's history is damaged: its commands and views are refused until it is restored",
		"tenant", d.Tenant, "first_bad_sequence", d.Sequence, "reason", d.Reason)
	return d.Err()
}

// Damaged lists the tenants this process found damaged, by tenant id, for
// readiness checks and operators.
func (s *Service) Damaged() []Damage {
	s.mu.Lock()
	out := make([]Damage, 0, len(s.damaged))
	for _, d := range s.damaged {
		out = append(out, d)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Damage) int { return cmp.Compare(a.Tenant, b.Tenant) })
	return out
}

// damageOf returns the aggregate's damage, nil if none.
func (a *aggregate) damageOf() *Damage {
	a.view.RLock()
	defer a.view.RUnlock()
	return a.damage
}
