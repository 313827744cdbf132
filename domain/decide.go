package domain

import (
	"fmt"
	"time"

	"github.com/licensing-ledger/ledger/domain/catalog"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/proto"
)

// Context is everything a decision depends on besides the state and the
// command: who asks, when, the catalog, and a source of new ids. Deciding is
// pure: the same state, command and context give the same events.
type Context struct {
	Principal Principal
	// Roles are the principal's effective roles in this tenant.
	Roles   []Role
	Now     time.Time
	Catalog *catalog.Catalog
	// NewID returns a new unique id (a ULID derived from the command id).
	NewID func() string
}

// Decision is the outcome of a command: the events to append, and for a
// command that records nothing on purpose, a notice for the sender (Q4).
type Decision struct {
	Events []proto.Message
	Notice *Notice
}

// Notice is shown to the sender of a command that records nothing on purpose.
type Notice struct {
	Message string `json:"message"`
	Link    string `json:"link,omitempty"`
}

// Limits of the input the ledger accepts.
const (
	MaxBulkUsers   = 20  // users in one bulk action (A1)
	MaxIDLength    = 128 // any id
	MaxTextLength  = 4096
	MaxSeats       = 1_000_000
	RetentionDays  = 30 // data kept after a license is removed (A8)
	RequestMonths  = 12 // requests kept (Q3)
	MaxRecipients  = 20
	MaxPlansPerCmd = 100
)

// Decide validates cmd against the state and returns the events it causes, or
// a refusal. It never changes the state.
func Decide(s *State, cmd proto.Message, c Context) (Decision, error) {
	d := decider{s: s, c: c}
	switch m := cmd.(type) {
	case *ledgerv1.RegisterUser:
		return d.events(d.registerUser(m))
	case *ledgerv1.UpdateUser:
		return d.events(d.updateUser(m))
	case *ledgerv1.RemoveUser:
		return d.events(d.removeUser(m))
	case *ledgerv1.CreateGroup:
		return d.events(d.createGroup(m))
	case *ledgerv1.AddGroupMembers:
		return d.events(d.addGroupMembers(m))
	case *ledgerv1.RemoveGroupMembers:
		return d.events(d.removeGroupMembers(m))
	case *ledgerv1.GrantPartnerDelegation:
		return d.events(d.grantDelegation(m))
	case *ledgerv1.RevokePartnerDelegation:
		return d.events(d.revokeDelegation(m))
	case *ledgerv1.PurchaseSubscription:
		return d.events(d.purchaseSubscription(m))
	case *ledgerv1.ChangeSeats:
		return d.events(d.changeSeats(m))
	case *ledgerv1.ChangeSubscriptionState:
		return d.events(d.changeSubscriptionState(m))
	case *ledgerv1.TakeOverSubscription:
		return d.events(d.takeOverSubscription(m))
	case *ledgerv1.AssignLicense:
		return d.events(d.assignLicense(m))
	case *ledgerv1.RevokeAssignment:
		return d.events(d.revokeAssignment(m))
	case *ledgerv1.ChangeAssignmentPlans:
		return d.events(d.changeAssignmentPlans(m))
	case *ledgerv1.UnassignAll:
		return d.events(d.unassignAll(m))
	case *ledgerv1.AssignGroupLicense:
		return d.events(d.assignGroupLicense(m))
	case *ledgerv1.RevokeGroupLicense:
		return d.events(d.revokeGroupLicense(m))
	case *ledgerv1.ReprocessGroupLicenses:
		return d.events(d.reprocessGroupLicenses(m))
	case *ledgerv1.RequestLicense:
		return d.requestLicense(m)
	case *ledgerv1.ApproveRequest:
		return d.events(d.approveRequest(m))
	case *ledgerv1.DenyRequest:
		return d.events(d.denyRequest(m))
	case *ledgerv1.ConfigureRequestProcess:
		return d.events(d.configureRequestProcess(m))
	case *ledgerv1.ShareRequest:
		return d.events(d.shareRequest(m))
	case *ledgerv1.SetSelfServicePolicy:
		return d.events(d.setSelfServicePolicy(m))
	case *ledgerv1.ExpireRequests:
		return d.events(d.expireRequests())
	}
	return Decision{}, Errorf(CodeNotFound, "unknown command %T", cmd)
}

// decider holds what one decision reads. Its methods return the events of a
// command or a refusal.
type decider struct {
	s *State
	c Context
}

func (d decider) events(evs []proto.Message, err error) (Decision, error) {
	if err != nil {
		return Decision{}, err
	}
	return Decision{Events: evs}, nil
}

// user returns the user or a NotFound refusal.
func (d decider) user(id string) (*User, error) {
	if u := d.s.Users[id]; u != nil {
		return u, nil
	}
	return nil, Errorf(CodeNotFound, "user %q is not in tenant %q", id, d.s.Tenant)
}

// group returns the group or a NotFound refusal.
func (d decider) group(id string) (*Group, error) {
	if g := d.s.Groups[id]; g != nil {
		return g, nil
	}
	return nil, Errorf(CodeNotFound, "group %q is not in tenant %q", id, d.s.Tenant)
}

// product returns the catalog product or a NotFound refusal. It does not
// copy the product: deciding only reads it.
func (d decider) product(id string) (catalog.Product, error) {
	if p, ok := d.c.Catalog.ProductView(id); ok {
		return p, nil
	}
	return catalog.Product{}, Errorf(CodeNotFound, "product %q is not in the catalog", id)
}

// subscription returns the subscription or a NotFound refusal.
func (d decider) subscription(id string) (*Subscription, error) {
	if sub := d.s.Subscriptions[id]; sub != nil {
		return sub, nil
	}
	return nil, Errorf(CodeNotFound, "subscription %q is not in tenant %q", id, d.s.Tenant)
}

func (d decider) hasRole(roles ...Role) bool {
	return d.c.Principal.System || hasAny(d.c.Roles, roles)
}

func (d decider) retentionDate() time.Time {
	return d.c.Now.AddDate(0, 0, RetentionDays)
}

func quoted(ids []string) string {
	return fmt.Sprintf("%q", ids)
}
