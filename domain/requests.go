package domain

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/licensing-ledger/ledger/domain/catalog"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func (d decider) requestLicense(m *ledgerv1.RequestLicense) (Decision, error) {
	if err := firstErr(checkID("product_id", m.ProductId), checkText("message", m.Message)); err != nil {
		return Decision{}, err
	}
	requester, err := d.requester()
	if err != nil {
		return Decision{}, err
	}
	if rp := d.s.RequestProcess; rp.Enabled {
		return Decision{Notice: &Notice{Message: rp.Message, Link: rp.Link}}, nil // Q4: nothing recorded
	}
	p, err := d.product(m.ProductId)
	if err != nil {
		return Decision{}, err
	}
	if !p.Assignable {
		return Decision{}, Errorf(CodeValidationFailed, "%s (%s) cannot be requested: it extends the tenant, not a user", p.Name, p.ID)
	}
	if d.s.SelfServiceAllowed[p.ID] {
		return Decision{}, Errorf(CodeConflict, "self-service purchase of %s is allowed in this organization: buy it yourself instead of requesting it", p.Name)
	}
	users, err := d.requestUsers(requester, m.UserIds)
	if err != nil {
		return Decision{}, err
	}
	id, err := d.newRequestID(m.RequestId)
	if err != nil {
		return Decision{}, err
	}
	return Decision{Events: []proto.Message{&ledgerv1.LicenseRequested{
		RequestId: id, ProductId: p.ID, RequesterId: requester.ID, UserIds: users, Message: m.Message,
	}}}, nil
}

// requester returns the user sending a request: only users of the tenant ask.
func (d decider) requester() (*User, error) {
	p := d.c.Principal
	if p.Partner != "" || p.Tenant != d.s.Tenant {
		return nil, Errorf(CodeForbidden, "only users of tenant %q can request licenses", d.s.Tenant)
	}
	if u := d.s.Users[p.ID]; u != nil {
		return u, nil
	}
	return nil, Errorf(CodeNotFound, "%s is not a registered user of tenant %q: register the user before they request licenses", p.ID, d.s.Tenant)
}

// requestUsers returns everyone a request is for: the requester, then the
// other users named, who must exist (Q1).
func (d decider) requestUsers(requester *User, others []string) ([]string, error) {
	if len(others) >= MaxBulkUsers {
		return nil, Errorf(CodeValidationFailed, "a request names at most %d other users, not %d", MaxBulkUsers-1, len(others))
	}
	if err := checkIDs("user id", others); err != nil {
		return nil, err
	}
	if slices.Contains(others, requester.ID) {
		return nil, Errorf(CodeValidationFailed, "user_ids names the requester %s, who is included already", requester.ID)
	}
	var missing []string
	for _, id := range others {
		if d.s.Users[id] == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, Errorf(CodeNotFound, "users %s are not in tenant %q", quoted(missing), d.s.Tenant)
	}
	return append([]string{requester.ID}, others...), nil
}

func (d decider) newRequestID(given string) (string, error) {
	if given == "" {
		return d.c.NewID(), nil
	}
	if err := checkID("request_id", given); err != nil {
		return "", err
	}
	if d.s.Requests[given] != nil {
		return "", Errorf(CodeConflict, "request %q already exists", given)
	}
	return given, nil
}

// pendingRequest returns the request if it still waits for a decision.
func (d decider) pendingRequest(id string) (*Request, error) {
	if err := checkID("request_id", id); err != nil {
		return nil, err
	}
	r := d.s.Requests[id]
	if r == nil {
		return nil, Errorf(CodeNotFound, "request %q is not in tenant %q", id, d.s.Tenant)
	}
	if !r.Pending() {
		return nil, Errorf(CodeConflict, "request %s was already closed (%s)", id, outcomeName(r.Outcome))
	}
	return r, nil
}

func (d decider) approveRequest(m *ledgerv1.ApproveRequest) ([]proto.Message, error) {
	r, err := d.pendingRequest(m.RequestId)
	if err != nil {
		return nil, err
	}
	if err := checkText("message", m.Message); err != nil {
		return nil, err
	}
	if m.GroupId != "" && len(m.DisabledPlans) > 0 {
		return nil, Errorf(CodeValidationFailed, "disabled_plans cannot be set when approving through group %s: its members get the group's plans", m.GroupId)
	}
	approved, rejected, err := splitApproval(r, m.ApprovedUserIds)
	if err != nil {
		return nil, err
	}
	productID := m.ProductId
	if productID == "" {
		productID = r.ProductID
	}
	p, err := d.assignableProduct(productID, m.DisabledPlans)
	if err != nil {
		return nil, err
	}
	grantsEvs, err := d.grantApproved(approved, p, m.DisabledPlans, m.GroupId)
	if err != nil {
		return nil, err
	}
	outcome := ledgerv1.RequestOutcome_REQUEST_OUTCOME_APPROVED
	if len(rejected) > 0 {
		outcome = ledgerv1.RequestOutcome_REQUEST_OUTCOME_PARTIALLY_APPROVED
	}
	evs := []proto.Message{&ledgerv1.RequestDecided{
		RequestId: r.ID, Outcome: outcome, ApprovedUserIds: approved, RejectedUserIds: rejected,
		ProductId: p.ID, DisabledPlans: m.DisabledPlans, GroupId: m.GroupId, Message: m.Message,
	}}
	evs = append(evs, grantsEvs...)
	evs = append(evs, notify(r, approved, ledgerv1.RequestOutcome_REQUEST_OUTCOME_APPROVED, p.ID, m.Message)...)
	return append(evs, notify(r, rejected, ledgerv1.RequestOutcome_REQUEST_OUTCOME_REJECTED, p.ID, m.Message)...), nil
}

// splitApproval returns the approved and rejected users of a request; an
// empty selection approves everyone.
func splitApproval(r *Request, selected []string) (approved, rejected []string, err error) {
	if len(selected) == 0 {
		return slices.Clone(r.UserIDs), nil, nil
	}
	if err := checkIDs("approved user id", selected); err != nil {
		return nil, nil, err
	}
	for _, id := range selected {
		if !slices.Contains(r.UserIDs, id) {
			return nil, nil, Errorf(CodeValidationFailed, "%s is not named in request %s (it names %s)", id, r.ID, quoted(r.UserIDs))
		}
	}
	for _, id := range r.UserIDs {
		if slices.Contains(selected, id) {
			approved = append(approved, id)
		} else {
			rejected = append(rejected, id)
		}
	}
	return approved, rejected, nil
}

// grantApproved gives the approved users the product, directly or by adding
// them to a group that holds it; all or nothing (Q2).
func (d decider) grantApproved(userIDs []string, p catalog.Product, disabled []string, groupID string) ([]proto.Message, error) {
	var g *Group
	if groupID != "" {
		var err error
		if g, err = d.group(groupID); err != nil {
			return nil, err
		}
		if _, ok := g.Licenses[p.ID]; !ok {
			return nil, Errorf(CodeValidationFailed, "group %s does not hold %s: assign it to the group first, or approve without a group", g.ID, p.Name)
		}
		disabled = g.Licenses[p.ID]
	}
	gr := d.newGrants(len(userIDs))
	var vs []Violation
	var evs []proto.Message
	for _, id := range userIDs {
		u := d.s.Users[id]
		if u == nil {
			vs = append(vs, Violation{Subject: id, Code: CodeNotFound, Detail: fmt.Sprintf("user %q has left tenant %q", id, d.s.Tenant)})
			continue
		}
		ev, v := d.grantOne(gr, u, p, disabled, g)
		if v != nil {
			vs = append(vs, *v)
			continue
		}
		evs = append(evs, ev...)
	}
	return evs, violationsError("ApproveRequest", vs)
}

// grantOne gives one approved user the product, directly or through group
// g (nil: directly). A user who is not a member joins the group; a member
// who could not get the group's product before (in error, A6) gets it now.
func (d decider) grantOne(gr *grants, u *User, p catalog.Product, disabled []string, g *Group) ([]proto.Message, *Violation) {
	groupID := ""
	if g != nil {
		groupID = g.ID
	}
	if l := u.Licenses[p.ID]; l != nil && ((g == nil && l.Direct) || (g != nil && hasGroup(l, groupID))) {
		return nil, nil // holds it that way already
	}
	if g != nil && !g.Members[u.ID] {
		return gr.joinFor(u, g, p)
	}
	if v := gr.check(u, p, disabled, true); v != nil {
		return nil, v
	}
	gr.take(u, p, disabled)
	return []proto.Message{&ledgerv1.LicenseAssigned{UserId: u.ID, ProductId: p.ID, DisabledPlans: disabled, GroupId: groupID}}, nil
}

// joinFor adds the user to group grp so that they get p: like any new
// member they inherit every product of the group (A6), and the approval is
// refused if p is one they cannot get (Q2).
func (g *grants) joinFor(u *User, grp *Group, p catalog.Product) ([]proto.Message, *Violation) {
	if v := g.checkEligible(u, p, true); v != nil {
		return nil, v
	}
	evs, refused := g.join(u, grp)
	if v := refused[p.ID]; v != nil {
		return nil, v
	}
	return evs, nil
}

// notify tells each user their part of the outcome (Q2).
func notify(r *Request, users []string, outcome ledgerv1.RequestOutcome, productID, message string) []proto.Message {
	evs := make([]proto.Message, 0, len(users))
	for _, id := range users {
		evs = append(evs, &ledgerv1.RequestOutcomeNotified{RequestId: r.ID, UserId: id, Outcome: outcome, ProductId: productID, Message: message})
	}
	return evs
}

func (d decider) denyRequest(m *ledgerv1.DenyRequest) ([]proto.Message, error) {
	r, err := d.pendingRequest(m.RequestId)
	if err != nil {
		return nil, err
	}
	if err := checkText("message", m.Message); err != nil {
		return nil, err
	}
	denied := ledgerv1.RequestOutcome_REQUEST_OUTCOME_DENIED
	evs := []proto.Message{&ledgerv1.RequestDecided{
		RequestId: r.ID, Outcome: denied, RejectedUserIds: r.UserIDs, ProductId: r.ProductID, Message: m.Message,
	}}
	return append(evs, notify(r, r.UserIDs, denied, r.ProductID, m.Message)...), nil
}

func (d decider) configureRequestProcess(m *ledgerv1.ConfigureRequestProcess) ([]proto.Message, error) {
	if err := firstErr(checkText("message", m.Message), checkText("link", m.Link)); err != nil {
		return nil, err
	}
	if m.Enabled && strings.TrimSpace(m.Message) == "" {
		return nil, Errorf(CodeValidationFailed, "message is required: it is what users see when they ask for a license")
	}
	if m.Link != "" {
		if u, err := url.Parse(m.Link); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, Errorf(CodeValidationFailed, "link %q is not an http(s) address", m.Link)
		}
	}
	return []proto.Message{&ledgerv1.RequestProcessConfigured{Enabled: m.Enabled, Message: m.Message, Link: m.Link}}, nil
}

func (d decider) shareRequest(m *ledgerv1.ShareRequest) ([]proto.Message, error) {
	if err := firstErr(checkID("request_id", m.RequestId), checkText("subject", m.Subject), checkText("message", m.Message)); err != nil {
		return nil, err
	}
	r := d.s.Requests[m.RequestId]
	if r == nil {
		return nil, Errorf(CodeNotFound, "request %q is not in tenant %q", m.RequestId, d.s.Tenant)
	}
	if len(m.Recipients) == 0 || len(m.Recipients) > MaxRecipients {
		return nil, Errorf(CodeValidationFailed, "recipients needs 1 to %d addresses", MaxRecipients)
	}
	ids, err := d.resolveEmails(m.Recipients)
	if err != nil {
		return nil, err
	}
	return []proto.Message{&ledgerv1.RequestShared{
		RequestId: r.ID, RecipientUserIds: ids, Recipients: m.Recipients, Subject: m.Subject, Message: m.Message,
	}}, nil
}

// resolveEmails maps each address to a user of the tenant; any that does
// not resolve refuses the share (Q5).
func (d decider) resolveEmails(emails []string) ([]string, error) {
	byEmail := map[string]string{}
	for _, u := range d.s.Users {
		if u.Email != "" {
			byEmail[strings.ToLower(u.Email)] = u.ID
		}
	}
	ids := make([]string, 0, len(emails))
	var unresolved []string
	for _, e := range emails {
		id, ok := byEmail[strings.ToLower(strings.TrimSpace(e))]
		if !ok {
			unresolved = append(unresolved, e)
			continue
		}
		ids = append(ids, id)
	}
	if len(unresolved) > 0 {
		return nil, Errorf(CodeNotFound, "recipients %s do not resolve to users of tenant %q; nothing was shared", quoted(unresolved), d.s.Tenant)
	}
	return ids, nil
}

func (d decider) setSelfServicePolicy(m *ledgerv1.SetSelfServicePolicy) ([]proto.Message, error) {
	if err := checkID("product_id", m.ProductId); err != nil {
		return nil, err
	}
	if _, err := d.product(m.ProductId); err != nil {
		return nil, err
	}
	if d.s.SelfServiceAllowed[m.ProductId] == m.Allowed {
		return nil, nil
	}
	return []proto.Message{&ledgerv1.SelfServicePolicyChanged{ProductId: m.ProductId, Allowed: m.Allowed}}, nil
}

// expireRequests closes the pending requests older than the retention period (Q3).
func (d decider) expireRequests() ([]proto.Message, error) {
	cutoff := d.c.Now.AddDate(0, -RequestMonths, 0)
	var evs []proto.Message
	for _, id := range sortedKeys(d.s.Requests) {
		r := d.s.Requests[id]
		if !r.Pending() || r.Created.After(cutoff) {
			continue
		}
		evs = append(evs, &ledgerv1.RequestExpired{RequestId: id})
		evs = append(evs, notify(r, r.UserIDs, ledgerv1.RequestOutcome_REQUEST_OUTCOME_EXPIRED, r.ProductID, "")...)
	}
	// The same sweep records the end of partners' GDAP relationships whose
	// time is up (T3); their access ended at that instant already.
	for _, partner := range sortedKeys(d.s.DelegationEnds) {
		if end := d.s.DelegationEnds[partner]; !d.c.Now.Before(end) {
			evs = append(evs, &ledgerv1.PartnerDelegationExpired{PartnerId: partner, ExpiredAt: timestamppb.New(end)})
		}
	}
	return evs, nil
}

func outcomeName(o ledgerv1.RequestOutcome) string {
	return strings.ToLower(strings.TrimPrefix(o.String(), "REQUEST_OUTCOME_"))
}
