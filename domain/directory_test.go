package domain_test

import (
	"testing"

	"github.com/licensing-ledger/ledger/domain"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

func TestT2_RegisterMembersAndGuestsWithAUsageLocation(t *testing.T) {
	Given(t, contoso).As(userAdmin).
		When(&ledgerv1.RegisterUser{UserId: "alice", DisplayName: "Alice", Email: "alice@contoso.com", UsageLocation: "FR"}).
		Then(&ledgerv1.UserRegistered{UserId: "alice", DisplayName: "Alice", Email: "alice@contoso.com", UsageLocation: "FR"})

	Given(t, contoso).As(userAdmin).
		When(&ledgerv1.RegisterUser{UserId: "gus", Email: "gus@partner.example", UsageLocation: "US", Guest: true}).
		Then(&ledgerv1.UserRegistered{UserId: "gus", Email: "gus@partner.example", UsageLocation: "US", Guest: true})

	// A directory sync may register a user before their usage location is known.
	Given(t, contoso).As(userAdmin).
		When(&ledgerv1.RegisterUser{UserId: "bob"}).
		Then(&ledgerv1.UserRegistered{UserId: "bob"})
}

func TestT2_RegisterRefusesDuplicatesAndMalformedInput(t *testing.T) {
	Given(t, contoso, member("alice", "FR")).As(userAdmin).
		When(&ledgerv1.RegisterUser{UserId: "alice", UsageLocation: "US"}).
		ThenError(domain.CodeConflict, "alice", "already registered")
	Given(t, contoso).As(userAdmin).
		When(&ledgerv1.RegisterUser{UserId: "alice", UsageLocation: "FRA"}).
		ThenError(domain.CodeValidationFailed, "FRA", "two-letter")
	Given(t, contoso).As(userAdmin).
		When(&ledgerv1.RegisterUser{UserId: "alice/../bob"}).
		ThenError(domain.CodeValidationFailed, "user_id")
	Given(t, contoso).As(userAdmin).
		When(&ledgerv1.RegisterUser{}).
		ThenError(domain.CodeValidationFailed, "user_id is required")
}

func TestT2_UpdateUserKeepsEmptyFields(t *testing.T) {
	Given(t, contoso, member("alice", "FR")).As(userAdmin).
		When(&ledgerv1.UpdateUser{UserId: "alice", UsageLocation: "DE"}).
		Then(&ledgerv1.UserUpdated{UserId: "alice", UsageLocation: "DE"})
	Given(t, contoso).As(userAdmin).
		When(&ledgerv1.UpdateUser{UserId: "nobody", UsageLocation: "DE"}).
		ThenError(domain.CodeNotFound, "nobody")
}

// A4 applies to moves too: a user may not move to a country where a product
// they hold may not be used.
func TestT2_A4_MovingAUserWhereAHeldProductIsProhibitedIsRefused(t *testing.T) {
	given := msgs(member("alice", "US"), bought("s1", "MCOPSTN1", 5), bought("s2", "ENTERPRISEPREMIUM", 5),
		assigned("alice", "ENTERPRISEPREMIUM"), assigned("alice", "MCOPSTN1"))

	Given(t, contoso, given...).As(userAdmin).
		When(&ledgerv1.UpdateUser{UserId: "alice", UsageLocation: "JP"}).
		ThenError(domain.CodeProhibitedUsageLocation, "Microsoft 365 Domestic Calling Plan", "JP")
	Given(t, contoso, given...).As(userAdmin).
		When(&ledgerv1.UpdateUser{UserId: "alice", UsageLocation: "FR"}).
		Then(&ledgerv1.UserUpdated{UserId: "alice", UsageLocation: "FR"})
	// Licenses follow the new usage location.
	Given(t, contoso, member("bob", "US"), &ledgerv1.UserUpdated{UserId: "bob", UsageLocation: "JP"}, bought("s1", "CONTOSO_FIELDSERVICE", 5)).
		When(&ledgerv1.AssignLicense{ProductId: "CONTOSO_FIELDSERVICE", UserIds: users("bob")}).
		ThenError(domain.CodeProhibitedUsageLocation, "not available in JP")
}

func TestT2_A8_RemovingAUserRemovesTheirLicensesAndMemberships(t *testing.T) {
	Given(t, contoso,
		member("alice", "US"), bought("s1", "SPB", 5), bought("s2", "POWER_BI_PRO", 5),
		groupCreated("sales"), joined("sales", "alice"), groupLicense("sales", "SPB"),
		inherited("alice", "SPB", "sales"), assigned("alice", "SPB"), assigned("alice", "POWER_BI_PRO"),
	).As(userAdmin).
		When(&ledgerv1.RemoveUser{UserId: "alice"}).
		Then(
			lost("alice", "POWER_BI_PRO", ""),
			removed("alice", "SPB", "sales"), // she still holds SPB directly
			lost("alice", "SPB", ""),
			left("sales", "alice"),
			&ledgerv1.UserRemoved{UserId: "alice"},
		)
}

func TestT2_GroupsAndMembers(t *testing.T) {
	Given(t, contoso).As(userAdmin).
		When(&ledgerv1.CreateGroup{GroupId: "sales", Name: "Sales"}).
		Then(&ledgerv1.GroupCreated{GroupId: "sales", Name: "Sales"})
	Given(t, contoso, groupCreated("sales")).As(userAdmin).
		When(&ledgerv1.CreateGroup{GroupId: "sales"}).
		ThenError(domain.CodeConflict, "sales")

	given := msgs(member("alice", "US"), member("bob", "US"), groupCreated("sales"), joined("sales", "alice"))
	Given(t, contoso, given...).As(userAdmin).
		When(&ledgerv1.AddGroupMembers{GroupId: "sales", UserIds: users("alice", "bob")}).
		Then(joined("sales", "bob")) // alice is a member already
	Given(t, contoso, given...).As(userAdmin).
		When(&ledgerv1.RemoveGroupMembers{GroupId: "sales", UserIds: users("alice", "bob")}).
		Then(left("sales", "alice")) // bob was not a member
	Given(t, contoso, given...).As(userAdmin).
		When(&ledgerv1.AddGroupMembers{GroupId: "sales", UserIds: users("bob", "zoe", "yan")}).
		ThenViolations(
			domain.Violation{Subject: "zoe", Code: domain.CodeNotFound},
			domain.Violation{Subject: "yan", Code: domain.CodeNotFound},
		)
	Given(t, contoso, given...).As(userAdmin).
		When(&ledgerv1.AddGroupMembers{GroupId: "marketing", UserIds: users("bob")}).
		ThenError(domain.CodeNotFound, "marketing")
	Given(t, contoso, given...).As(userAdmin).
		When(&ledgerv1.AddGroupMembers{GroupId: "sales", UserIds: users("bob", "bob")}).
		ThenError(domain.CodeValidationFailed, "listed twice")
}
