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

// fillMaps replaces the nil maps gob leaves for empty ones.
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
		if u.Groups == nil {
			u.Groups = map[string]bool{}
		}
		if u.Licenses == nil {
			u.Licenses = map[string]*License{}
		}
		for _, l := range u.Licenses {
			if l.Groups == nil {
				l.Groups = map[string][]string{}
			}
		}
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

// countHolders derives the per-product holder counts from the users.
func (s *State) countHolders() {
	s.holders = map[string]int{}
	for _, u := range s.Users {
		for pid := range u.Licenses {
			s.holders[pid]++
		}
	}
}
