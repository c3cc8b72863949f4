package envelope_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/strongroom/strongroom/envelope"
	"github.com/strongroom/strongroom/internal/testrand"
)

func mustKey(t testing.TB, seed byte) *envelope.Key {
	t.Helper()
	b := bytes.Repeat([]byte{seed}, envelope.KeySize)
	k, err := envelope.KeyFromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestRecordRoundTrip(t *testing.T) {
	k, err := envelope.NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	aad := envelope.RecordAAD("owner", "rec", "card_number")
	for _, pt := range []string{"1234567812345678", "x", strings.Repeat("é", 2000)} {
		enc, err := envelope.SealRecord(k, rand.Reader, aad, []byte(pt))
		if err != nil {
			t.Fatal(err)
		}
		// (A one-byte value's hex is bound to turn up in random hex by chance.)
		if len(pt) >= 8 && (strings.Contains(enc, pt) || strings.Contains(enc, fmt.Sprintf("%x", pt))) {
			t.Fatalf("ciphertext holds the plaintext")
		}
		got, err := envelope.OpenRecord(k, aad, enc)
		if err != nil || string(got) != pt {
			t.Fatalf("OpenRecord = %q, %v; want %q", got, err, pt)
		}
	}
}

func TestRecordNonceIsFresh(t *testing.T) {
	k := mustKey(t, 1)
	aad := envelope.RecordAAD("o", "r", "t")
	a, _ := envelope.SealRecord(k, rand.Reader, aad, []byte("same"))
	b, _ := envelope.SealRecord(k, rand.Reader, aad, []byte("same"))
	if a == b {
		t.Fatal("two seals of the same value are equal: nonce reused")
	}
}

func TestRecordRefusesTampering(t *testing.T) {
	k := mustKey(t, 1)
	aad := envelope.RecordAAD("owner", "rec", "card_number")
	enc, err := envelope.SealRecord(k, rand.Reader, aad, []byte("1234567812345678"))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) string {
		b := []byte(enc)
		if b[i] == '0' {
			b[i] = '1'
		} else {
			b[i] = '0'
		}
		return string(b)
	}
	cases := []struct {
		name string
		key  *envelope.Key
		aad  []byte
		enc  string
	}{
		{"wrong key", mustKey(t, 2), aad, enc},
		{"other owner", k, envelope.RecordAAD("owner2", "rec", "card_number"), enc},
		{"other record", k, envelope.RecordAAD("owner", "rec2", "card_number"), enc},
		{"other data_type", k, envelope.RecordAAD("owner", "rec", "iban"), enc},
		{"fields shifted", k, envelope.RecordAAD("owne", "rrec", "card_number"), enc},
		{"version byte", k, aad, flip(1)},
		{"nonce byte", k, aad, flip(5)},
		{"ciphertext byte", k, aad, flip(2 * 14)},
		{"tag byte", k, aad, flip(len(enc) - 1)},
		{"truncated", k, aad, enc[:len(enc)-2]},
		{"odd length", k, aad, enc[:len(enc)-1]},
		{"not hex", k, aad, "zz" + enc[2:]},
		{"empty", k, aad, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got, err := envelope.OpenRecord(c.key, c.aad, c.enc); !errors.Is(err, envelope.ErrOpen) {
				t.Fatalf("OpenRecord = %q, %v; want ErrOpen", got, err)
			}
		})
	}
}

// TestRecordFixture pins the storage format: a change to it would make
// every stored record unreadable.
func TestRecordFixture(t *testing.T) {
	k := mustKey(t, 7)
	aad := envelope.RecordAAD("65a000000000000000000001", "65a000000000000000000002", "card_number")
	const want = "01000102030405060708090a0b29b3da44283fee714680d6a8d76e5bc2c16e925d8a4ac7ca92aa651d013814e3"
	got, err := envelope.SealRecord(k, &testrand.Counter{}, aad, []byte("1234567812345678"))
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("SealRecord = %s\nwant          %s", got, want)
	}
	pt, err := envelope.OpenRecord(k, aad, want)
	if err != nil || string(pt) != "1234567812345678" {
		t.Fatalf("OpenRecord(fixture) = %q, %v", pt, err)
	}
}

func TestRecordAADFixture(t *testing.T) {
	got := fmt.Sprintf("%x", envelope.RecordAAD("a", "bc", "d"))
	want := fmt.Sprintf("%x", "strongroom/record/v1") + "0000000161" + "000000026263" + "0000000164"
	if got != want {
		t.Fatalf("RecordAAD = %s, want %s", got, want)
	}
}

func TestKeyNeverPrints(t *testing.T) {
	k := mustKey(t, 0xab)
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k)} {
		if strings.Contains(strings.ToLower(s), "ab") && !strings.Contains(s, "redacted") {
			t.Fatalf("key printed: %s", s)
		}
		if strings.Contains(s, "171") || strings.Contains(s, "abab") {
			t.Fatalf("key bytes printed: %s", s)
		}
	}
}

func TestKeyFromBytesLength(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := envelope.KeyFromBytes(make([]byte, n)); err == nil {
			t.Errorf("KeyFromBytes(%d bytes) accepted", n)
		}
	}
}

func TestZeroedKeyRefuses(t *testing.T) {
	k := mustKey(t, 3)
	aad := []byte("a")
	sealed, _ := k.Seal(rand.Reader, []byte("v"), aad)
	other := mustKey(t, 3)
	if !k.Equal(other) {
		t.Fatal("equal keys not Equal")
	}
	k.Zero()
	if _, err := k.Open(sealed, aad); !errors.Is(err, envelope.ErrOpen) {
		t.Fatalf("zeroed key opened: %v", err)
	}
	if k.Equal(other) {
		t.Fatal("zeroed key still equal")
	}
}

func FuzzOpenRecord(f *testing.F) {
	k := mustKey(f, 9)
	aad := envelope.RecordAAD("o", "r", "t")
	good, _ := envelope.SealRecord(k, &testrand.Counter{}, aad, []byte("1234567812345678")) // deterministic: fuzz workers rebuild it
	f.Add(good)
	f.Add("")
	f.Add("01")
	f.Add(strings.Repeat("0", 58))
	f.Fuzz(func(t *testing.T, s string) {
		pt, err := envelope.OpenRecord(k, aad, s)
		if err == nil && (!strings.EqualFold(s, good) || string(pt) != "1234567812345678") {
			t.Fatalf("forged ciphertext opened: %q", s)
		}
		if err != nil && !errors.Is(err, envelope.ErrOpen) {
			t.Fatalf("unexpected error type %v", err)
		}
	})
}
