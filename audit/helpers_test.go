package audit_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/audit"
	"github.com/licensing-ledger/ledger/audit/audittest"
	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/projections"
)

const tenant = "contoso"

// storyUsers are the users the story registers.
var storyUsers = []string{"alice", "bob", "carol", "dave", "erin", "lee@fabrikam.com"}

// liveViews are the answers of the live query routes at one instant.
type liveViews struct {
	Products      []projections.ProductView      `json:"products"`
	Subscriptions []projections.SubscriptionView `json:"subscriptions"`
	Users         []projections.UserView         `json:"users"`
	Requests      []projections.RequestView      `json:"requests"`
}

// played is the story, played once, with the live views recorded at each
// checkpoint by a projector following the store as ledgerd's does.
type played struct {
	scenario *audittest.Scenario
	marks    []audittest.Checkpoint
	live     map[string]liveViews
	records  []events.Record
}

func playStory(t *testing.T) *played {
	t.Helper()
	s := audittest.NewScenario(tenant, audittest.StoryStart)
	lic, req, dir := projections.NewLicenses(catalog.Default()), projections.NewRequests(s.Now), projections.NewDirectory()
	proj := projections.NewProjector(s.Store, slog.New(slog.NewTextHandler(io.Discard, nil)), lic, req, dir)
	p := &played{scenario: s, live: map[string]liveViews{}}
	applied := 0
	p.marks = audittest.Story(t, s, func(c audittest.Checkpoint) {
		recs := s.Store.Records(tenant)
		for _, r := range recs[applied:] {
			require.NoError(t, proj.Apply(r))
		}
		applied = len(recs)
		p.live[c.Name] = captureLive(lic, req, dir)
	})
	p.records = s.Store.Records(tenant)
	return p
}

// captureLive reads the views as the API answers them; the requests list
// carries the product's name and people's display names, as GET /requests.
func captureLive(lic *projections.Licenses, req *projections.Requests, dir *projections.Directory) liveViews {
	v := liveViews{Products: lic.Products(tenant), Subscriptions: lic.Subscriptions(tenant), Users: []projections.UserView{}, Requests: req.List(tenant, "")}
	for i, r := range v.Requests {
		p, _ := catalog.Default().Product(r.ProductID)
		v.Requests[i] = dir.Named(tenant, r, p.Name)
	}
	for _, id := range storyUsers {
		if u, ok := lic.User(tenant, id); ok {
			v.Users = append(v.Users, u)
		}
	}
	return v
}

// source returns the played records as a source.
func (p *played) source() audit.Source { return audit.RecordsSource(p.records) }

// mark returns the instant of a checkpoint.
func (p *played) mark(name string) time.Time {
	for _, m := range p.marks {
		if m.Name == name {
			return m.At
		}
	}
	panic("no checkpoint " + name)
}

// export returns the records as an export file.
func export(t *testing.T, recs []events.Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := audit.NewEncoder(&buf)
	for _, r := range recs {
		require.NoError(t, enc.Encode(r))
	}
	require.NoError(t, enc.Flush())
	return buf.Bytes()
}

// lines splits an export into its lines.
func lines(data []byte) []string {
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// joinLines makes an export of lines.
func joinLines(ls []string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }

// asJSON returns v encoded then decoded, for comparisons that ignore types.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(data, &out))
	return out
}
