// Package secret holds configuration secrets (the JWT secret, the pepper,
// Vault credentials, the SMTP password...) in a type that cannot show its
// value by accident.
//
// Every way Go prints or encodes a value goes through a method of Value
// that answers "<redacted>": fmt with any verb (String, GoString, Format),
// log/slog (LogValue), encoding/json (MarshalJSON) and the encodings that
// use encoding.TextMarshaler. The value itself sits behind a pointer, so
// even a printer that bypasses those methods shows an address, not the
// secret. The value comes out only through Reveal or Bytes, which makes
// each use of a secret visible in the code.
package secret

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
)

// Redacted is what a set secret shows instead of its value.
const Redacted = "<redacted>"

// unset is what an empty secret shows: whether a secret is set is not
// itself secret, and saying so helps an operator.
const unset = "(unset)"

// Value is a secret string. The zero Value is an unset secret.
type Value struct {
	s *string
}

// New returns a Value holding s; an empty s is an unset secret.
func New(s string) Value {
	if s == "" {
		return Value{}
	}
	return Value{s: &s}
}

// Reveal returns the secret itself, "" if unset. Call it only to hand the
// secret to what needs it, never to print or log it.
func (v Value) Reveal() string {
	if v.s == nil {
		return ""
	}
	return *v.s
}

// Bytes returns a copy of the secret, nil if unset.
func (v Value) Bytes() []byte {
	if v.s == nil {
		return nil
	}
	return []byte(*v.s)
}

// IsSet reports whether the secret is set.
func (v Value) IsSet() bool { return v.s != nil }

// Len returns the secret's length in bytes, for length rules.
func (v Value) Len() int { return len(v.Reveal()) }

// Equal reports whether two secrets are the same, in constant time for
// secrets of the same length.
func (v Value) Equal(o Value) bool {
	return subtle.ConstantTimeCompare([]byte(v.Reveal()), []byte(o.Reveal())) == 1
}

func (v Value) shown() string {
	if v.s == nil {
		return unset
	}
	return Redacted
}

// String returns "<redacted>", or "(unset)".
func (v Value) String() string { return v.shown() }

// GoString returns secret.Value("<redacted>"), or the same with "(unset)".
func (v Value) GoString() string { return fmt.Sprintf("secret.Value(%q)", v.shown()) }

// Format makes every fmt verb (%v, %+v, %#v, %s, %q, %x, %d...) print
// String's answer, or GoString's for %#v.
func (v Value) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, v.GoString())
		return
	}
	fmt.Fprint(f, v.shown())
}

// LogValue makes log/slog show "<redacted>" or "(unset)".
func (v Value) LogValue() slog.Value { return slog.StringValue(v.shown()) }

// MarshalJSON encodes the secret as the JSON string "<redacted>" or
// "(unset)"; it never fails.
func (v Value) MarshalJSON() ([]byte, error) { return []byte(`"` + v.shown() + `"`), nil }

// MarshalText encodes the secret as "<redacted>" or "(unset)"; it never
// fails.
func (v Value) MarshalText() ([]byte, error) { return []byte(v.shown()), nil }
