package projections

import (
	"sync"

	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// Change is one event as the live pages hear of it: enough to know that the
// tenant's views changed and what kind of change it was, nothing of its
// payload (a page reads what it shows through the queries, which apply the
// reader's permissions).
type Change struct {
	Tenant   string `json:"tenant"`
	Sequence uint64 `json:"sequence"`
	Type     string `json:"type"`
}

// Feed is a read model that holds nothing: it tells the listeners of a
// tenant about each of the tenant's events once the read models hold it,
// so that a page reloaded on a change sees it (the console's live updates,
// U1). It is fed by the projector like every model, with the ledger's own
// committed events, so every process serving the tenant hears every change,
// whoever wrote it.
type Feed struct {
	mu        sync.Mutex
	listeners map[string]map[chan Change]struct{}
}

// NewFeed returns a feed with no listeners.
func NewFeed() *Feed {
	return &Feed{listeners: map[string]map[chan Change]struct{}{}}
}

// Apply tells the tenant's listeners about the event. It never blocks the
// projector: a listener whose buffer is full misses the change, which a
// page tolerates since any later change makes it reload everything it
// shows. Models are applied in order, so a Feed placed last among the
// projector's models speaks only of events every other model holds; the
// projector's lock, held while Apply runs, keeps a query started on the
// change from running before the event is applied.
func (f *Feed) Apply(e *ledgerv1.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ls := f.listeners[e.GetTenant()]
	if len(ls) == 0 {
		return
	}
	c := Change{Tenant: e.GetTenant(), Sequence: e.GetSequence(), Type: e.TypeName()}
	for ch := range ls {
		select {
		case ch <- c:
		default:
		}
	}
}

// Listen returns a channel of the tenant's changes and a function that
// stops them.
func (f *Feed) Listen(tenant string) (<-chan Change, func()) {
	ch := make(chan Change, 64)
	f.mu.Lock()
	if f.listeners[tenant] == nil {
		f.listeners[tenant] = map[chan Change]struct{}{}
	}
	f.listeners[tenant][ch] = struct{}{}
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.listeners[tenant], ch)
		if len(f.listeners[tenant]) == 0 {
			delete(f.listeners, tenant)
		}
	}
}
