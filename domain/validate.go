package domain

import (
	"fmt"
	"slices"
	"strings"
)

// ValidTenantID reports whether id can name a tenant: 1 to 64 letters,
// digits, '-' or '_', so that it is always exactly one NATS subject token and
// one KurrentDB stream name suffix.
func ValidTenantID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !isAlnum(r) && r != '-' && r != '_' {
			return false
		}
	}
	return true
}

// CheckTenantID refuses an id that cannot name a tenant.
func CheckTenantID(id string) error {
	if !ValidTenantID(id) {
		return Errorf(CodeValidationFailed, "tenant id %q is invalid: use 1 to 64 letters, digits, '-' or '_'", id)
	}
	return nil
}

// checkID refuses an empty, overlong or oddly formed id of the given kind.
// Ids may hold letters, digits and - _ . @ + (user ids are often addresses).
func checkID(kind, id string) error {
	if id == "" {
		return Errorf(CodeValidationFailed, "%s is required", kind)
	}
	if len(id) > MaxIDLength {
		return Errorf(CodeValidationFailed, "%s is longer than %d characters", kind, MaxIDLength)
	}
	for _, r := range id {
		if !isAlnum(r) && !strings.ContainsRune("-_.@+", r) {
			return Errorf(CodeValidationFailed, "%s %q holds %q: use letters, digits and - _ . @ +", kind, id, r)
		}
	}
	return nil
}

// checkUserList refuses an empty, oversized or duplicated list of user ids.
func checkUserList(ids []string, max int) error {
	if len(ids) == 0 {
		return Errorf(CodeValidationFailed, "user_ids needs at least one user")
	}
	if len(ids) > max {
		return Errorf(CodeValidationFailed, "user_ids names %d users; at most %d at a time", len(ids), max)
	}
	return checkIDs("user id", ids)
}

// checkIDs checks every id and refuses duplicates.
func checkIDs(kind string, ids []string) error {
	var seen map[string]bool // for long lists only: a short one is scanned
	if len(ids) > shortList {
		seen = make(map[string]bool, len(ids))
	}
	for i, id := range ids {
		if err := checkID(kind, id); err != nil {
			return err
		}
		if seen[id] || (seen == nil && slices.Contains(ids[:i], id)) {
			return Errorf(CodeValidationFailed, "%s %q is listed twice", kind, id)
		}
		if seen != nil {
			seen[id] = true
		}
	}
	return nil
}

// shortList is the length up to which checkIDs looks for duplicates by
// scanning instead of building a map: a bulk command's MaxBulkUsers users
// are compared in less time than the map takes to build.
const shortList = 32

// checkText refuses text longer than the limit.
func checkText(field, s string) error {
	if len(s) > MaxTextLength {
		return Errorf(CodeValidationFailed, "%s is longer than %d bytes", field, MaxTextLength)
	}
	return nil
}

// checkCountry refuses a usage location that is not two capital letters.
func checkCountry(code string) error {
	if len(code) != 2 || !isUpper(rune(code[0])) || !isUpper(rune(code[1])) {
		return Errorf(CodeValidationFailed, "usage_location %q is not a two-letter country code such as US or FR", code)
	}
	return nil
}

// checkPlans refuses disabled plans that the product does not contain.
func checkPlans(productID string, productPlans, disabled []string) error {
	if len(disabled) > MaxPlansPerCmd {
		return Errorf(CodeValidationFailed, "disabled_plans lists %d plans; at most %d", len(disabled), MaxPlansPerCmd)
	}
	for _, p := range disabled {
		if !slices.Contains(productPlans, p) {
			return Errorf(CodeValidationFailed, "service plan %q is not part of product %q (its plans: %s)", p, productID, strings.Join(productPlans, ", "))
		}
	}
	return checkIDs("disabled plan", disabled)
}

func checkSeats(seats int32) error {
	if seats < 0 || seats > MaxSeats {
		return Errorf(CodeValidationFailed, "seats must be between 0 and %d, not %d", MaxSeats, seats)
	}
	return nil
}

func isAlnum(r rune) bool {
	return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
}

func isUpper(r rune) bool { return r >= 'A' && r <= 'Z' }

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
