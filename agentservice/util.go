package agentservice

import (
	"github.com/agentcdk/agentcdk/internal/token"

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

// plainNumberOr is numberOr for values that feed pure-Go checks: an
// unresolved token counts as the default so that it is never judged.
func plainNumberOr(v *float64, def float64) float64 {
	if token.IsNumber(v) {
		return def
	}
	return numberOr(v, def)
}
