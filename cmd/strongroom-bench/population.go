package main

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/strongroom/strongroom/token"
)

// population is the users seed wrote, kept compactly so that a million of
// them cost the harness a few bytes each until they are used: user i's id,
// name and record ids are computed from i, and its token is minted the
// first time a request needs it, then kept.
//
// An id is an ObjectId, as the server's: the seeding's second (4 bytes),
// a tag drawn at random for the seeding (3 bytes, so that two seedings'
// ids never meet), and a sequence number (5 bytes). User i's sequence
// number is i*(records+1), its records' the records after it.
type population struct {
	n, records int
	idTime     uint32
	idTag      [3]byte
	created    time.Time
	issuer     *token.Issuer
	tokens     []atomic.Pointer[string] // minted on first use
}

func newPopulation(n, records int) (*population, error) {
	issuer, err := token.NewIssuer([]byte(benchJWTSecret), 4*time.Hour, nil)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	p := &population{n: n, records: records, idTime: uint32(now.Unix()), created: now, issuer: issuer,
		tokens: make([]atomic.Pointer[string], n)}
	if _, err := rand.Read(p.idTag[:]); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *population) len() int { return p.n }

// first is the population of the first n users (all if fewer), sharing
// their tokens.
func (p *population) first(n int) *population {
	q := *p
	q.n = min(n, p.n)
	q.tokens = p.tokens[:q.n]
	return &q
}

func (p *population) id(seq uint64) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[0:4], p.idTime)
	copy(b[4:7], p.idTag[:])
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	copy(b[7:12], s[3:])
	return hex.EncodeToString(b[:])
}

func (p *population) userID(i int) string { return p.id(uint64(i) * uint64(p.records+1)) }

// recordID is the id of user i's k-th record (k < records).
func (p *population) recordID(i, k int) string {
	return p.id(uint64(i)*uint64(p.records+1) + 1 + uint64(k))
}

func (p *population) name(i int) string { return fmt.Sprintf("bench%06d", i) }

// token is a bearer token for user i, minted on first use; "" if it could
// not be minted (the request is then refused and counted as an error).
func (p *population) token(i int) string {
	if t := p.tokens[i].Load(); t != nil {
		return *t
	}
	t, _, err := p.issuer.Issue(p.userID(i))
	if err != nil {
		return ""
	}
	p.tokens[i].CompareAndSwap(nil, &t)
	return *p.tokens[i].Load()
}
