package password

import (
	"crypto/rand"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// Published vectors: x/crypto/bcrypt's own, and jBCrypt's (OpenBSD's).
var vectors = []struct{ key, hash string }{
	{"allmine", "$2a$10$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga"},
	{"", "$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s."},
	{"a", "$2a$06$m0CrhHm10qJ3lXRY.5zDGO3rS2KdeeWLuGmsfGlMfOxih58VYVfxe"},
}

func TestBcryptVectors(t *testing.T) {
	for _, v := range vectors {
		ok, err := bcryptCompare(v.hash, []byte(v.key))
		if err != nil || !ok {
			t.Errorf("compare(%q, %q) = %v, %v", v.hash, v.key, ok, err)
		}
		cost, salt, err := parseBcrypt(v.hash)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := bcryptHash([]byte(v.key), cost, salt); err != nil || got != v.hash {
			t.Errorf("hash(%q) = %q, %v; want %q", v.key, got, err, v.hash)
		}
		if ok, _ := bcryptCompare(v.hash, []byte(v.key+"x")); ok {
			t.Errorf("compare(%q) accepted a wrong key", v.hash)
		}
	}
}

// Hashes made here verify with x/crypto/bcrypt and the other way round,
// for keys of every length bcrypt takes.
func TestBcryptMatchesXCrypto(t *testing.T) {
	for n := 0; n <= 72; n += 9 {
		key := make([]byte, n)
		_, _ = rand.Read(key)
		salt := make([]byte, saltBytes)
		_, _ = rand.Read(salt)
		ours, err := bcryptHash(key, 4, salt)
		if err != nil {
			t.Fatal(err)
		}
		if err := bcrypt.CompareHashAndPassword([]byte(ours), key); err != nil {
			t.Errorf("len %d: x/crypto refuses our hash: %v", n, err)
		}
		theirs, err := bcrypt.GenerateFromPassword(key, 5)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := bcryptCompare(string(theirs), key); err != nil || !ok {
			t.Errorf("len %d: we refuse x/crypto's hash: %v, %v", n, ok, err)
		}
		wrong := append([]byte("x"), key...)
		if ok, _ := bcryptCompare(string(theirs), wrong); ok {
			t.Errorf("len %d: a wrong key matched", n)
		}
	}
	if _, err := bcryptHash(make([]byte, 73), 4, make([]byte, saltBytes)); err == nil {
		t.Error("a 73-byte key was hashed")
	}
}

func TestBcryptMalformed(t *testing.T) {
	good := vectors[0].hash
	for _, h := range []string{
		"", "$2a$10$", good[:59], good + ".",
		"$3a" + good[3:], "$2c" + good[3:], "$2a$1x" + good[6:], "$2a$03" + good[6:], "$2a$32" + good[6:],
		good[:7] + "!" + good[8:], strings.Replace(good, "$", "#", 1),
	} {
		if ok, err := bcryptCompare(h, []byte("allmine")); ok || err == nil {
			t.Errorf("compare(%q) = %v, %v; want an error", h, ok, err)
		}
	}
	for _, prefix := range []string{"$2b", "$2y"} { // same algorithm, other labels
		if ok, err := bcryptCompare(prefix+good[3:], []byte("allmine")); err != nil || !ok {
			t.Errorf("%s: %v, %v", prefix, ok, err)
		}
	}
}
