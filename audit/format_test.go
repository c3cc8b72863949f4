package audit_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/audit"
)

// The chain's MAC is pinned here: if the key derivation, the encoding of an
// event or the MAC drifted, every stored chain would fail verification at
// its first event. Each fixture was computed once from the code and is
// re-derived below from the standard library, so the test also says what
// the format is.

var fixturePepper = []byte("0123456789abcdef0123456789abcdef")

func hmacHex(key []byte, msg []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

func fixtureEvent() *strongroom.AuditEvent {
	prev := make([]byte, 32)
	for i := range prev {
		prev[i] = byte(i)
	}
	return &strongroom.AuditEvent{Seq: 42, Time: time.Date(2026, 11, 27, 21, 30, 0, 123e6, time.UTC), Type: "login.failure",
		Outcome: "failure", UserID: "65a000000000000000000001", Target: "65a000000000000000000001", Client: "192.0.2.7",
		RequestID: "01HZXREQ", Prev: prev}
}

func TestDeriveKeyFixture(t *testing.T) {
	const want = "349ebbbf87be11e8a5b0f7bff0bfbf5ab408b815988036339109147773481516"
	if got := hex.EncodeToString(audit.DeriveKey(fixturePepper)); got != want {
		t.Errorf("DeriveKey = %s\nwant        %s", got, want)
	}
	if again := hmacHex(fixturePepper, []byte("strongroom/audit-key/v1")); again != want {
		t.Errorf("HMAC-SHA256(pepper, label) = %s, not the fixture", again)
	}
}

func TestEncodeFixture(t *testing.T) {
	want := strings.Join([]string{
		"00000019" + hex.EncodeToString([]byte("strongroom/audit-event/v1")), // length-prefixed label
		"000000000000002a", // seq 42, 8 bytes big-endian
		"000001a21eea483b", // time: 1795123800123 ms since 1970, 8 bytes big-endian
		"0000000d" + hex.EncodeToString([]byte("login.failure")),
		"00000007" + hex.EncodeToString([]byte("failure")),
		"00000018" + hex.EncodeToString([]byte("65a000000000000000000001")), // user id
		"00000018" + hex.EncodeToString([]byte("65a000000000000000000001")), // target
		"00000009" + hex.EncodeToString([]byte("192.0.2.7")),
		"00000008" + hex.EncodeToString([]byte("01HZXREQ")),
		"00000020000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", // prev
	}, "")
	const fixture = "000000197374726f6e67726f6f6d2f61756469742d6576656e742f7631000000000000002a000001a21eea483b0000000d6c6f67696e2e6661696c757265000000076661696c7572650000001836356130303030303030303030303030303030303030303100000018363561303030303030303030303030303030303030303031000000093139322e302e322e37000000083031485a5852455100000020000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	if want != fixture {
		t.Fatalf("the spelled-out encoding is not the fixture:\n%s\n%s", want, fixture)
	}
	if got := hex.EncodeToString(audit.Encode(fixtureEvent())); got != fixture {
		t.Errorf("Encode = %s\nwant     %s", got, fixture)
	}
	if ms := fixtureEvent().Time.UnixMilli(); ms != 0x1a21eea483b {
		t.Errorf("the fixture's time is %d ms", ms)
	}
}

func TestHashFixture(t *testing.T) {
	key := audit.DeriveKey(fixturePepper)
	const want = "ca068581fb1bd0ce08f9633963679cce2a5f1e9041e766b98884e3e46978a3cb"
	e := fixtureEvent()
	if got := hex.EncodeToString(audit.Hash(key, e)); got != want {
		t.Errorf("Hash = %s\nwant    %s", got, want)
	}
	if again := hmacHex(key, audit.Encode(e)); again != want {
		t.Errorf("HMAC-SHA256(key, Encode(e)) = %s, not the fixture", again)
	}
	if got := hex.EncodeToString(audit.Link(key)(e)); got != want {
		t.Errorf("Link = %s, not Hash", got)
	}
}

func TestSealFixture(t *testing.T) {
	key := audit.DeriveKey(fixturePepper)
	const want = "9f0a66c109bf9139bc014936d741f250a73024c0c371f774d5853586147f935f"
	s := strongroom.AuditStart{Seq: 42, Prev: fixtureEvent().Prev}
	if got := hex.EncodeToString(audit.SealStart(key, s)); got != want {
		t.Errorf("SealStart = %s\nwant         %s", got, want)
	}
	msg, _ := hex.DecodeString("00000019" + hex.EncodeToString([]byte("strongroom/audit-start/v1")) + "000000000000002a" +
		"00000020000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	if again := hmacHex(key, msg); again != want {
		t.Errorf("HMAC-SHA256(key, label seq prev) = %s, not the fixture", again)
	}
}

// Each field counts, and moving bytes from one field to the next changes
// the encoding: no two events encode alike.
func TestEncodeTellsFieldsApart(t *testing.T) {
	base := fixtureEvent()
	seen := map[string]string{string(audit.Encode(base)): "base"}
	for name, edit := range map[string]func(e *strongroom.AuditEvent){
		"seq":            func(e *strongroom.AuditEvent) { e.Seq++ },
		"time":           func(e *strongroom.AuditEvent) { e.Time = e.Time.Add(time.Millisecond) },
		"type":           func(e *strongroom.AuditEvent) { e.Type = "login.success" },
		"outcome":        func(e *strongroom.AuditEvent) { e.Outcome = "success" },
		"user":           func(e *strongroom.AuditEvent) { e.UserID = "" },
		"target":         func(e *strongroom.AuditEvent) { e.Target = "x" },
		"client":         func(e *strongroom.AuditEvent) { e.Client = "192.0.2.8" },
		"request":        func(e *strongroom.AuditEvent) { e.RequestID = "other" },
		"prev":           func(e *strongroom.AuditEvent) { e.Prev = e.Prev[1:] },
		"user to target": func(e *strongroom.AuditEvent) { e.UserID, e.Target = "", e.UserID+e.Target },
		"client to req":  func(e *strongroom.AuditEvent) { e.Client, e.RequestID = e.Client+e.RequestID[:1], e.RequestID[1:] },
	} {
		e := fixtureEvent()
		edit(e)
		enc := string(audit.Encode(e))
		if other, ok := seen[enc]; ok {
			t.Errorf("changing %s encodes like %s", name, other)
		}
		seen[enc] = name
	}
}
