package password

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/crypto/blowfish"

	"github.com/strongroom/strongroom/internal/pace"
)

// This is bcrypt ($2a$, as golang.org/x/crypto/bcrypt computes it, and
// byte-for-byte the same hashes: the tests check both ways), with one
// change: the expensive key schedule is paced (internal/pace): it yields
// the processor every few rounds (about 0.2 ms at cost 12), and backs off
// when other work is waiting. x/crypto/bcrypt runs its 2^cost rounds
// without a scheduling point, so each hash holds a Go P for up to 10 ms
// between the runtime's forced preemptions, and a request landing on that
// P waits behind it. Yielding lets the server run with one P per core and
// keep ordinary requests' latency while every hashing slot is busy.

const (
	minCost = 4
	maxCost = 31
	// Only the first 23 of the 24 encrypted bytes are encoded, as every
	// bcrypt does.
	hashBytes = 23
	saltBytes = 16
	// The key schedule yields every paceEvery rounds (a yield costs a
	// few microseconds when nothing else is runnable: every round made a
	// hash 18% slower, every fourth costs 2-3%) and under contention
	// takes about a tenth of a core per hashing slot, what a nice-10
	// thread gets from the kernel.
	paceEvery   = 4
	paceBackoff = 9
)

var (
	bcryptB64 = base64.NewEncoding("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789").WithPadding(base64.NoPadding)
	// "OrpheanBeholderScryDoubt", encrypted 64 times under the expanded key.
	magic = []byte("OrpheanBeholderScryDoubt")

	errMalformed = errors.New("password: malformed bcrypt hash")
)

// bcryptHash returns the $2a$ hash of key (at most 72 bytes) at cost with
// the 16-byte salt.
func bcryptHash(key []byte, cost int, salt []byte) (string, error) {
	if len(key) > 72 || len(salt) != saltBytes || cost < minCost || cost > maxCost {
		return "", fmt.Errorf("password: bcrypt parameters out of range")
	}
	sum, err := bcryptSum(key, cost, salt)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("$2a$%02d$%s%s", cost, bcryptB64.EncodeToString(salt), bcryptB64.EncodeToString(sum)), nil
}

// bcryptCompare reports whether hash ($2a$, $2b$ or $2y$, which differ only
// in how other implementations treated long passwords) is the hash of key.
func bcryptCompare(hash string, key []byte) (bool, error) {
	cost, salt, err := parseBcrypt(hash)
	if err != nil {
		return false, err
	}
	sum, err := bcryptSum(key, cost, salt)
	if err != nil {
		return false, err
	}
	want := hash[:len(hash)-31] + bcryptB64.EncodeToString(sum)
	return subtle.ConstantTimeCompare([]byte(hash), []byte(want)) == 1, nil
}

// parseBcrypt reads "$2x$CC$" + 22 salt characters + 31 hash characters.
func parseBcrypt(hash string) (cost int, salt []byte, err error) {
	if len(hash) != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$' {
		return 0, nil, errMalformed
	}
	switch hash[2] {
	case 'a', 'b', 'y':
	default:
		return 0, nil, errMalformed
	}
	cost, err = strconv.Atoi(hash[4:6])
	if err != nil || cost < minCost || cost > maxCost {
		return 0, nil, errMalformed
	}
	salt, err = bcryptB64.DecodeString(hash[7:29])
	if err != nil {
		return 0, nil, errMalformed
	}
	return cost, salt, nil
}

// bcryptSum is the 23 encrypted bytes.
func bcryptSum(key []byte, cost int, salt []byte) ([]byte, error) {
	// The key's trailing NUL is part of the expansion, as in C bcrypt.
	ckey := append(key[:len(key):len(key)], 0)
	defer clear(ckey)
	c, err := blowfish.NewSaltedCipher(ckey, salt)
	if err != nil {
		return nil, err
	}
	pacer := pace.New(paceEvery, paceBackoff)
	for i := uint64(0); i < 1<<cost; i++ {
		blowfish.ExpandKey(ckey, c)
		blowfish.ExpandKey(salt, c)
		pacer.Step()
	}
	data := append([]byte(nil), magic...)
	for i := 0; i < len(data); i += 8 {
		for range 64 {
			c.Encrypt(data[i:i+8], data[i:i+8])
		}
	}
	return data[:hashBytes], nil
}
