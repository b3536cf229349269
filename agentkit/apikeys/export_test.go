package apikeys

import "time"

// SetFetchTimeout replaces FetchTimeout for one Source, so that a test of a
// stalled read waits a second rather than the constant's ten.
func SetFetchTimeout(s *Source, d time.Duration) { s.fetchTimeout = d }
