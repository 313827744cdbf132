package ledger

// CachedTenants returns how many tenants' aggregates the service holds.
func CachedTenants(s *Service) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tenants)
}
