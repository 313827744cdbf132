// Package intern keeps one copy of each string of a small set (product
// ids, countries) that events repeat: decoding an event makes a new string
// each time, and a million licenses would otherwise each keep their own
// copy of the same few ids.
package intern

// Strings holds one copy of each string it has been given. The zero value
// is ready to use. Give it only strings from a bounded set: it never
// forgets one.
type Strings struct {
	held map[string]string
}

// Of returns the held copy of v, holding v itself if there is none yet.
func (s *Strings) Of(v string) string {
	if c, ok := s.held[v]; ok {
		return c
	}
	if s.held == nil {
		s.held = map[string]string{}
	}
	s.held[v] = v
	return v
}
