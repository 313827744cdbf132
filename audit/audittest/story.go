package audittest

import (
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/domain"
	v1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// StoryStart is when the story's first command is sent.
var StoryStart = time.Date(2025, time.January, 6, 9, 0, 0, 0, time.UTC)

// Checkpoint is a named instant of the story, right after a chapter.
type Checkpoint struct {
	Name string
	At   time.Time
}

// Story plays a tenant's first year and more, touching every event type of
// the first release: a directory with a guest and a group, subscriptions
// adding up, direct, group and guest assignments, a group member in error,
// requests approved in part, denied, shared and expired, a partner acting
// through a delegation, a user leaving. It returns an instant after each
// chapter, in order, and calls after, if not nil, at each of them.
func Story(t testing.TB, s *Scenario, after func(Checkpoint)) []Checkpoint {
	t.Helper()
	var marks []Checkpoint
	chapters := []struct {
		name string
		play func(testing.TB, *Scenario)
	}{
		{"directory", storyDirectory},
		{"purchased", storyPurchases},
		{"assigned", storyAssignments},
		{"changed", storyChanges},
		{"requested", storyRequests},
		{"decided", storyDecisions},
		{"reorganized", storyReorganization},
		{"expired", storyExpiry},
	}
	for _, c := range chapters {
		c.play(t, s)
		marks = append(marks, Checkpoint{Name: c.name, At: s.Now()})
		if after != nil {
			after(marks[len(marks)-1])
		}
		s.Advance(24 * time.Hour)
	}
	return marks
}

func storyDirectory(t testing.TB, s *Scenario) {
	for _, u := range []struct{ id, country string }{{"alice", "US"}, {"bob", "US"}, {"carol", "FR"}, {"dave", "US"}, {"erin", "US"}} {
		s.Run(t, s.Admin(), &v1.RegisterUser{UserId: u.id, DisplayName: u.id, Email: u.id + "@contoso.com", UsageLocation: u.country})
	}
	s.Run(t, s.Admin(), &v1.RegisterUser{UserId: "lee@fabrikam.com", DisplayName: "Lee (Fabrikam)", Email: "lee@fabrikam.com", UsageLocation: "US", Guest: true})
	s.Run(t, s.Admin(), &v1.CreateGroup{GroupId: "sales", Name: "Sales"})
	s.Run(t, s.Admin(), &v1.AddGroupMembers{GroupId: "sales", UserIds: []string{"carol", "dave"}})
	s.Run(t, s.Admin(), &v1.GrantPartnerDelegation{PartnerId: "fabrikam", Roles: []string{string(domain.AdminAgent)}})
}

func storyPurchases(t testing.TB, s *Scenario) {
	for _, p := range []*v1.PurchaseSubscription{
		{SubscriptionId: "sub-spb-1", ProductId: "SPB", Seats: 5, Channel: v1.Channel_CHANNEL_DIRECT},
		{SubscriptionId: "sub-spb-2", ProductId: "SPB", Seats: 8, Channel: v1.Channel_CHANNEL_PARTNER},
		{SubscriptionId: "sub-e3", ProductId: "ENTERPRISEPACK", Seats: 3, Channel: v1.Channel_CHANNEL_NCE},
		{SubscriptionId: "sub-pbi", ProductId: "POWER_BI_PRO", Seats: 2, Channel: v1.Channel_CHANNEL_DIRECT},
		{SubscriptionId: "sub-storage", ProductId: "SHAREPOINTSTORAGE", Seats: 10, Channel: v1.Channel_CHANNEL_DIRECT},
		{SubscriptionId: "sub-visio", ProductId: "VISIOCLIENT", Seats: 1, Channel: v1.Channel_CHANNEL_SELF_SERVICE, PurchasedBy: "bob"},
	} {
		s.Run(t, s.Admin(), p)
	}
}

func storyAssignments(t testing.TB, s *Scenario) {
	s.Run(t, s.Admin(), &v1.AssignLicense{ProductId: "SPB", UserIds: []string{"alice", "bob"}, DisabledPlans: []string{"SWAY"}})
	s.Run(t, s.Admin(), &v1.AssignGroupLicense{GroupId: "sales", ProductId: "ENTERPRISEPACK"})
	s.Run(t, s.Admin(), &v1.AssignLicense{ProductId: "ENTERPRISEPACK", UserIds: []string{"lee@fabrikam.com"}})
}

func storyChanges(t testing.TB, s *Scenario) {
	s.Run(t, s.Admin(), &v1.ChangeAssignmentPlans{ProductId: "SPB", UserId: "alice"})
	s.Run(t, s.Admin(), &v1.RevokeAssignment{ProductId: "SPB", UserIds: []string{"bob"}})
	s.Run(t, s.Admin(), &v1.ChangeSeats{SubscriptionId: "sub-spb-1", Seats: 3})
	s.Run(t, s.Admin(), &v1.AddGroupMembers{GroupId: "sales", UserIds: []string{"erin"}}) // no E3 seat left: erin is in error
	s.Run(t, s.Admin(), &v1.ChangeSeats{SubscriptionId: "sub-e3", Seats: 5})
	s.Run(t, s.Admin(), &v1.UpdateUser{UserId: "carol", DisplayName: "Carol Martin"})
}

func storyRequests(t testing.TB, s *Scenario) {
	s.Run(t, s.User("alice"), &v1.RequestLicense{RequestId: "req-pbi", ProductId: "POWER_BI_PRO", UserIds: []string{"bob", "carol"}, Message: "dashboards for the quarter"})
	s.Run(t, s.User("bob"), &v1.RequestLicense{RequestId: "req-apps", ProductId: "O365_BUSINESS"})
	s.Run(t, s.User("dave"), &v1.RequestLicense{RequestId: "req-visio", ProductId: "VISIOCLIENT", Message: "floor plans"})
}

func storyDecisions(t testing.TB, s *Scenario) {
	s.Run(t, s.Admin(), &v1.ApproveRequest{RequestId: "req-pbi", ApprovedUserIds: []string{"alice", "bob"}, Message: "two seats only"})
	s.Run(t, s.Admin(), &v1.DenyRequest{RequestId: "req-apps", Message: "use the web apps"})
	s.Run(t, s.Admin(), &v1.ShareRequest{RequestId: "req-visio", Recipients: []string{"erin@contoso.com"}, Subject: "Visio for Dave?"})
	agent := domain.Principal{ID: "agent@fabrikam", Partner: "fabrikam", Roles: []domain.Role{domain.AdminAgent}}
	s.Run(t, agent, &v1.AssignLicense{ProductId: "SPB", UserIds: []string{"erin"}})
	s.Run(t, s.Admin(), &v1.TakeOverSubscription{SubscriptionId: "sub-visio"})
	s.Run(t, s.Admin(), &v1.SetSelfServicePolicy{ProductId: "O365_BUSINESS", Allowed: true})
}

func storyReorganization(t testing.TB, s *Scenario) {
	s.Run(t, s.Admin(), &v1.RemoveUser{UserId: "erin"})
	s.Run(t, s.Admin(), &v1.RemoveGroupMembers{GroupId: "sales", UserIds: []string{"dave"}})
	s.Run(t, s.Admin(), &v1.RevokeGroupLicense{GroupId: "sales", ProductId: "ENTERPRISEPACK"})
	s.Run(t, s.Admin(), &v1.ChangeSubscriptionState{SubscriptionId: "sub-spb-2", State: v1.SubscriptionState_SUBSCRIPTION_STATE_GRACE})
	s.Run(t, s.Admin(), &v1.UnassignAll{UserIds: []string{"lee@fabrikam.com"}})
	s.Run(t, s.Admin(), &v1.ConfigureRequestProcess{Enabled: true, Message: "Ask the service desk", Link: "https://contoso.example/licenses"})
	s.Run(t, s.Admin(), &v1.ConfigureRequestProcess{Enabled: false})
	s.Run(t, s.Admin(), &v1.RevokePartnerDelegation{PartnerId: "fabrikam"})
}

// storyExpiry lets 13 months pass, after which the ledger closes the
// request still pending (Q3).
func storyExpiry(t testing.TB, s *Scenario) {
	s.Advance(13 * 30 * 24 * time.Hour)
	s.Run(t, domain.Principal{ID: domain.SystemActor, System: true}, &v1.ExpireRequests{})
}
