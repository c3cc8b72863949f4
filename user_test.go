package strongroom

import "testing"

func TestNormalizeUsername(t *testing.T) {
	for in, want := range map[string]string{
		"Alice":       "alice",
		"TEST.user-1": "test.user-1",
		"\u212Aate":   "\u212Aate", // the Kelvin sign is not a "k"
		"\u0130van":   "\u0130van", // nor a dotted capital I an "i"
		"ÅSA":         "\u00c5sa",  // non-ASCII stays as it is, and fails validation
	} {
		got := NormalizeUsername(in)
		if got != want {
			t.Errorf("NormalizeUsername(%q) = %q, want %q", in, got, want)
		}
		if in != "Alice" && in != "TEST.user-1" && ValidateUsername(got) == nil {
			t.Errorf("%q passes validation", got)
		}
	}
}
