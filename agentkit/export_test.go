package agentkit

import "time"

// SetJWKSTimings replaces, for one verifier, JWKSRefetchInterval,
// JWKSMaxAge and JWKSFetchTimeout, so that tests of the key set's cache
// run in milliseconds rather than in the constants' seconds and hours.
func SetJWKSTimings(v *JWTVerifier, refetch, maxAge, fetchTimeout time.Duration) {
	v.refetch, v.maxAge, v.fetchTimeout = refetch, maxAge, fetchTimeout
}
