// Package audit is the audit trail's core: the canonical form of an event,
// the MAC that chains events, Verify that walks a stored chain, and Trail,
// which records events with group commit.
//
// Each event's Hash is HMAC-SHA256 under a key derived from the pepper
// (DeriveKey) over the event's canonical encoding (Encode), which ends with
// the previous event's Hash. So editing an event's content, deleting it,
// moving it, or slipping one in breaks the chain at that event, and the
// head (the last Seq and Hash, kept apart) shows a cut of the tail. A plain
// SHA-256 chain would not do: whoever can write the database could edit an
// event and recompute every hash after it, and the rewritten chain would
// verify. The MAC key is not in the database, so that takes the pepper too.
//
// What the chain cannot show: someone holding both the pepper and the
// database can rewrite the chain wholesale; and whoever can write the
// database can roll it back to an earlier state of itself (tail and head
// together). Against the latter, keep the head that "strongroom audit
// verify" prints somewhere else and pass it back (VerifyOptions.Expect).
package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"sync"
	"unicode/utf8"

	"github.com/strongroom/strongroom"
)

// keyLabel names the MAC key's derivation; changing it breaks every chain.
const keyLabel = "strongroom/audit-key/v1"

// DeriveKey returns the key of the chain's MAC: HMAC-SHA256(pepper,
// "strongroom/audit-key/v1"). Like otp.DeriveKey it needs no third secret,
// and its own label keeps it apart from the pepper and the OTP key.
func DeriveKey(pepper []byte) []byte {
	m := hmac.New(sha256.New, pepper)
	m.Write([]byte(keyLabel))
	return m.Sum(nil)
}

// Labels that open each MACed message, so an event's encoding can never
// be taken for a start record's or for a later version's.
const (
	eventLabel = "strongroom/audit-event/v1"
	startLabel = "strongroom/audit-start/v1"
)

// Encode returns the canonical encoding of e that its Hash is computed
// over: the label, Seq (8 bytes, big-endian), Time in Unix milliseconds (8
// bytes, big-endian, two's complement), then Type, Outcome, UserID,
// Target, Client, RequestID and Prev, each as a 4-byte big-endian length
// and its bytes. Fixed widths and length prefixes make it unambiguous:
// no two different events encode alike.
func Encode(e *strongroom.AuditEvent) []byte {
	b := make([]byte, 0, 128+len(e.Type)+len(e.Outcome)+len(e.UserID)+len(e.Target)+len(e.Client)+len(e.RequestID)+len(e.Prev))
	b = field(b, []byte(eventLabel))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time.UnixMilli()))
	for _, s := range []string{e.Type, e.Outcome, e.UserID, e.Target, e.Client, e.RequestID} {
		b = field(b, []byte(s))
	}
	return field(b, e.Prev)
}

func field(b, v []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

// Hash returns e's Hash under key: HMAC-SHA256(key, Encode(e)).
func Hash(key []byte, e *strongroom.AuditEvent) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(Encode(e))
	return m.Sum(nil)
}

// Link returns the store's link function under key. It keeps its MACs to
// reuse (a store links every event it appends): Reset brings one back to
// its state after the key, so the key is not hashed again per event.
func Link(key []byte) strongroom.AuditLink {
	key = append([]byte(nil), key...)
	macs := sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}
	return func(e *strongroom.AuditEvent) []byte {
		m := macs.Get().(hash.Hash)
		m.Reset()
		m.Write(Encode(e))
		sum := m.Sum(make([]byte, 0, strongroom.AuditHashSize))
		macs.Put(m)
		return sum
	}
}

// SealStart returns the MAC of a start record: HMAC-SHA256(key, label ‖
// Seq (8 bytes) ‖ len(Prev) (4 bytes) ‖ Prev).
func SealStart(key []byte, s strongroom.AuditStart) []byte {
	m := hmac.New(sha256.New, key)
	b := field(nil, []byte(startLabel))
	b = binary.BigEndian.AppendUint64(b, uint64(s.Seq))
	m.Write(field(b, s.Prev))
	return m.Sum(nil)
}

// Seal returns the store's seal function under key.
func Seal(key []byte) strongroom.AuditSeal {
	key = append([]byte(nil), key...)
	return func(s strongroom.AuditStart) []byte { return SealStart(key, s) }
}

// MaxFieldLen bounds each text field of an event, in bytes.
const MaxFieldLen = 256

// Validate checks that e can be stored and hashed faithfully by every
// store: Type and Outcome are short lowercase words (a-z, 0-9, '.', '_',
// '-', starting with a letter or digit), and every field is valid UTF-8
// of at most MaxFieldLen bytes with no control characters (a MongoDB
// string must be UTF-8, and a stored field that read back differently
// would look like tampering). Its error names the field, never its value.
func Validate(e *strongroom.AuditEvent) error {
	if !word(e.Type) {
		return strongroom.Invalid("type", "audit event type must be 1 to 64 of a-z 0-9 . _ -")
	}
	if !word(e.Outcome) {
		return strongroom.Invalid("outcome", "audit event outcome must be 1 to 64 of a-z 0-9 . _ -")
	}
	for _, f := range []struct{ name, v string }{
		{"user_id", e.UserID}, {"target", e.Target}, {"client", e.Client}, {"request_id", e.RequestID},
	} {
		if len(f.v) > MaxFieldLen || !utf8.ValidString(f.v) {
			return strongroom.Invalid(f.name, "audit event %s must be UTF-8 of at most %d bytes", f.name, MaxFieldLen)
		}
		for _, r := range f.v {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				return strongroom.Invalid(f.name, "audit event %s must not hold control characters", f.name)
			}
		}
	}
	return nil
}

func word(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '.' || c == '_' || c == '-')
		if !ok {
			return false
		}
	}
	return true
}

// Mismatch is what Verify reports: the first event of the stored chain
// that does not fit, and why. It holds seqs and a reason, never content.
type Mismatch struct {
	Seq    int64
	Reason string
}

func (m *Mismatch) Error() string {
	return fmt.Sprintf("audit chain broken at event %d: %s", m.Seq, m.Reason)
}

// IsMismatch reports whether err is a Mismatch (tampering, or damage), as
// opposed to a failure to read the store.
func IsMismatch(err error) bool {
	var m *Mismatch
	return errors.As(err, &m)
}
