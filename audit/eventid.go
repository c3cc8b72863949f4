package audit

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// EventIDs name events to their users without the trail's seq. The seq
// counts every user's events, so a user who saw their own seqs would see
// how many events others caused between two of theirs (whether five wrong
// logins for a name made a sixth event, the unlock mail that only an
// account gets, say). An id is the seq encrypted with AES-256 under a key
// of the server's: 32 hexadecimal characters that keep no order, and an
// id nobody was given does not decrypt to a seq (eight zero bytes in
// front of it), so it cannot be guessed or walked.
type EventIDs struct{ block cipher.Block }

// NewEventIDs derives the ids' key from key (the service's keyed-hash key).
func NewEventIDs(key []byte) *EventIDs {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("audit-event-id"))
	b, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		panic(err) // a 32-byte key is always accepted
	}
	return &EventIDs{block: b}
}

// ID is the id of the event with seq.
func (e *EventIDs) ID(seq int64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[8:], uint64(seq))
	e.block.Encrypt(b[:], b[:])
	return hex.EncodeToString(b[:])
}

// Seq is the seq that id names, or false if id is not one that ID made.
func (e *EventIDs) Seq(id string) (int64, bool) {
	var b [16]byte
	if len(id) != 32 {
		return 0, false
	}
	if _, err := hex.Decode(b[:], []byte(id)); err != nil {
		return 0, false
	}
	e.block.Decrypt(b[:], b[:])
	seq := int64(binary.BigEndian.Uint64(b[8:]))
	if binary.BigEndian.Uint64(b[:8]) != 0 || seq < 1 {
		return 0, false
	}
	return seq, true
}
