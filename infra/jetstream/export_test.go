package jetstream

// WrapGroupCommitSync puts hook around the fsync of a store's group commit
// (GroupCommit must have been called): hook gets the real fsync to call.
func WrapGroupCommitSync(s *Store, hook func(sync func() error) error) {
	inner := s.commit.sync
	s.commit.sync = func() error { return hook(inner) }
}

// GroupCommitBlock is the number of the block file the group commit fsyncs,
// read between fsyncs: an fsync moves to new blocks without holding mu.
func GroupCommitBlock(s *Store) int {
	g := s.commit
	g.mu.Lock()
	defer g.mu.Unlock()
	g.idle()
	return g.files.index
}
