package jetstream

// WrapGroupCommitSync puts hook around the fsync of a store's group commit
// (GroupCommit must have been called): hook gets the real fsync to call.
func WrapGroupCommitSync(s *Store, hook func(sync func() error) error) {
	inner := s.commit.sync
	s.commit.sync = func() error { return hook(inner) }
}

// GroupCommitBlock is the number of the block file the group commit fsyncs.
func GroupCommitBlock(s *Store) int {
	s.commit.mu.Lock()
	defer s.commit.mu.Unlock()
	return s.commit.files.index
}
