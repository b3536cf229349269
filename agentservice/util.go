package agentservice

import (
	"maps"
	"slices"
)

func numberOr(v *float64, def float64) float64 {
	if v == nil {
		return def
	}
	return *v
}

func stringOr(v *string, def string) string {
	if v == nil {
		return def
	}
	return *v
}

func boolOr(v *bool, def bool) bool {
	if v == nil {
		return def
	}
	return *v
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
