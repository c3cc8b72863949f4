package strongroom

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"
	"time"
)

// IDs are MongoDB ObjectIds in their 24-character hex form, so records made
// by the embedded store and the MongoDB store look alike and a client of the
// seed design sees the ids it expects.

var (
	idProcess = randomBytes5()
	idCounter atomic.Uint32
)

// randomBytes5 returns the process-unique part of every id, as the ObjectId
// spec asks. crypto/rand.Read never fails on supported platforms.
func randomBytes5() [5]byte {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return b
}

// NewID returns a new ObjectId as 24 lowercase hex characters.
func NewID(now time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[0:4], uint32(now.Unix()))
	copy(b[4:9], idProcess[:])
	c := idCounter.Add(1)
	b[9], b[10], b[11] = byte(c>>16), byte(c>>8), byte(c)
	return hex.EncodeToString(b[:])
}

// ValidID reports whether s is an ObjectId in lowercase hex form.
func ValidID(s string) bool {
	if len(s) != 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
