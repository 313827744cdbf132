package catalog

import (
	"iter"
	"math/bits"
)

// inlineWords is how many 64-bit words of a PlanSet live in the value
// itself: a catalog of up to 256 plans (the default has 44) never
// allocates for a set.
const inlineWords = 4

// PlanSet is a set of the service plans of one catalog, one bit per plan at
// the plan's index in that catalog (see PlanIndex; indexes follow the
// plans' ids in order). The domain checks a user's enabled plans against
// conflicts and dependencies on every assignment: as bits, a user's plans
// are a few ORs and a check a few ANDs, where a map per user cost most of a
// decision. A set means nothing with another catalog.
//
// A PlanSet is a value: no method changes its receiver, each returns a new
// set, so sets (the catalog's own included) can be copied and shared
// freely. The zero value is the empty set.
type PlanSet struct {
	small [inlineWords]uint64 // plans 0 to 64*inlineWords-1
	large []uint64            // plans from 64*inlineWords on; never written once set, so shared safely
}

// word returns the k-th 64-bit word of the set.
func (s PlanSet) word(k int) uint64 {
	if k < inlineWords {
		return s.small[k]
	}
	if k -= inlineWords; k < len(s.large) {
		return s.large[k]
	}
	return 0
}

// Has reports whether the plan with index i is in the set.
func (s PlanSet) Has(i int) bool {
	return i >= 0 && s.word(i/64)&(1<<(i%64)) != 0
}

// With returns the set plus the plan with index i.
func (s PlanSet) With(i int) PlanSet {
	k, bit := i/64, uint64(1)<<(i%64)
	if k < inlineWords {
		s.small[k] |= bit
		return s
	}
	large := make([]uint64, max(len(s.large), k-inlineWords+1))
	copy(large, s.large)
	large[k-inlineWords] |= bit
	s.large = large
	return s
}

// Or returns the plans in s or t.
func (s PlanSet) Or(t PlanSet) PlanSet {
	for k := range s.small {
		s.small[k] |= t.small[k]
	}
	if len(t.large) > 0 {
		s.large = combine(s.large, t.large, max(len(s.large), len(t.large)), func(a, b uint64) uint64 { return a | b })
	}
	return s
}

// And returns the plans in both s and t.
func (s PlanSet) And(t PlanSet) PlanSet {
	for k := range s.small {
		s.small[k] &= t.small[k]
	}
	if len(s.large) > 0 {
		s.large = combine(s.large, t.large, len(s.large), func(a, b uint64) uint64 { return a & b })
	}
	return s
}

// AndNot returns the plans in s but not in t.
func (s PlanSet) AndNot(t PlanSet) PlanSet {
	for k := range s.small {
		s.small[k] &^= t.small[k]
	}
	if len(s.large) > 0 && len(t.large) > 0 {
		s.large = combine(s.large, t.large, len(s.large), func(a, b uint64) uint64 { return a &^ b })
	}
	return s
}

// combine returns n words, each op of the words of x and y at that place
// (zero past their ends), in a new slice: the words of a set are never
// written once it holds them.
func combine(x, y []uint64, n int, op func(a, b uint64) uint64) []uint64 {
	out := make([]uint64, n)
	for k := range out {
		var a, b uint64
		if k < len(x) {
			a = x[k]
		}
		if k < len(y) {
			b = y[k]
		}
		out[k] = op(a, b)
	}
	return out
}

// Empty reports whether the set has no plan.
func (s PlanSet) Empty() bool {
	for _, w := range s.small {
		if w != 0 {
			return false
		}
	}
	for _, w := range s.large {
		if w != 0 {
			return false
		}
	}
	return true
}

// Subset reports whether every plan of s is in t.
func (s PlanSet) Subset(t PlanSet) bool {
	for k := range inlineWords + len(s.large) {
		if s.word(k)&^t.word(k) != 0 {
			return false
		}
	}
	return true
}

// First returns the lowest index in the set, that of the first plan by id,
// or -1 when the set is empty.
func (s PlanSet) First() int {
	for i := range s.All() {
		return i
	}
	return -1
}

// All yields the indexes in the set in increasing order, which is the order
// of the plans' ids.
func (s PlanSet) All() iter.Seq[int] {
	return func(yield func(int) bool) {
		for k := range inlineWords + len(s.large) {
			for w := s.word(k); w != 0; w &= w - 1 {
				if !yield(64*k + bits.TrailingZeros64(w)) {
					return
				}
			}
		}
	}
}
