package domain

import (
	"bytes"
	"encoding/gob"
	"fmt"
)

// stateFormat versions the encoding of a State in snapshots; a snapshot of
// another version is ignored and the state rebuilt from the events.
const stateFormat = 1

// EncodeState encodes the state for a snapshot.
func EncodeState(s *State) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(stateFormat)
	if err := gob.NewEncoder(&buf).Encode(s); err != nil {
		return nil, fmt.Errorf("domain: encoding the state of %s: %w", s.Tenant, err)
	}
	return buf.Bytes(), nil
}

// DecodeState decodes a state encoded by EncodeState.
func DecodeState(data []byte) (*State, error) {
	if len(data) == 0 || data[0] != stateFormat {
		return nil, fmt.Errorf("domain: snapshot format %v is not %d", data[:min(1, len(data))], stateFormat)
	}
	s := NewState("")
	if err := gob.NewDecoder(bytes.NewReader(data[1:])).Decode(s); err != nil {
		return nil, fmt.Errorf("domain: decoding a state: %w", err)
	}
	s.fillMaps()
	s.countHolders()
	return s, nil
}

// fillMaps replaces the nil maps gob leaves for empty ones (users' groups
// and licenses stay nil, as Apply leaves them) and interns the ids that
// Apply interns.
func (s *State) fillMaps() {
	fresh := NewState(s.Tenant)
	if s.Users == nil {
		s.Users = fresh.Users
	}
	if s.Groups == nil {
		s.Groups = fresh.Groups
	}
	if s.Subscriptions == nil {
		s.Subscriptions = fresh.Subscriptions
	}
	if s.Requests == nil {
		s.Requests = fresh.Requests
	}
	if s.Delegations == nil {
		s.Delegations = fresh.Delegations
	}
	if s.SelfServiceAllowed == nil {
		s.SelfServiceAllowed = fresh.SelfServiceAllowed
	}
	for _, u := range s.Users {
		u.UsageLocation = s.names.Of(u.UsageLocation)
		s.internLicenses(u)
	}
	for _, g := range s.Groups {
		if g.Members == nil {
			g.Members = map[string]bool{}
		}
		if g.Licenses == nil {
			g.Licenses = map[string][]string{}
		}
	}
}

// internLicenses makes the user's licenses name their product with the
// state's copy of its id.
func (s *State) internLicenses(u *User) {
	if len(u.Licenses) == 0 {
		return
	}
	licenses := make(map[string]*License, len(u.Licenses))
	for pid, l := range u.Licenses {
		l.ProductID = s.names.Of(pid)
		licenses[l.ProductID] = l
	}
	u.Licenses = licenses
}

// countHolders derives the per-product holder counts from the users.
func (s *State) countHolders() {
	s.holders = map[string]int{}
	for _, u := range s.Users {
		for pid := range u.Licenses {
			s.holders[pid]++
		}
	}
}
