package password_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/strongroom/strongroom/password"
)

var pepper = []byte("0123456789abcdef0123456789abcdef")

func mustHasher(t testing.TB, cost int) *password.Hasher {
	t.Helper()
	h, err := password.New(pepper, cost)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h := mustHasher(t, bcrypt.MinCost)
	hash, salt, err := h.Hash(ctx, rand.Reader, "StrongP@ssw0rd1!")
	if err != nil {
		t.Fatal(err)
	}
	if len(salt) != 32 || strings.Contains(hash, "StrongP") {
		t.Fatalf("salt %q, hash %q", salt, hash)
	}
	if cost, _ := bcrypt.Cost([]byte(hash)); cost != bcrypt.MinCost {
		t.Fatalf("cost = %d", cost)
	}
	cases := []struct {
		name     string
		password string
		salt     string
		want     bool
	}{
		{"right", "StrongP@ssw0rd1!", salt, true},
		{"wrong", "StrongP@ssw0rd1?", salt, false},
		{"other salt", "StrongP@ssw0rd1!", strings.Repeat("0", 32), false},
		{"empty", "", salt, false},
	}
	for _, c := range cases {
		got, err := h.Verify(ctx, c.password, hash, c.salt)
		if err != nil || got != c.want {
			t.Errorf("%s: Verify = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
}

func TestPepperMatters(t *testing.T) {
	ctx := context.Background()
	h := mustHasher(t, bcrypt.MinCost)
	hash, salt, _ := h.Hash(ctx, rand.Reader, "StrongP@ssw0rd1!")
	other, _ := password.New([]byte("another pepper, sixteen+ bytes"), bcrypt.MinCost)
	if ok, _ := other.Verify(ctx, "StrongP@ssw0rd1!", hash, salt); ok {
		t.Fatal("a hasher with another pepper accepted the password")
	}
}

// bcrypt alone ignores everything after byte 72; the HMAC prehash must not.
func TestLongPasswordsAreDistinct(t *testing.T) {
	ctx := context.Background()
	h := mustHasher(t, bcrypt.MinCost)
	base := strings.Repeat("A1!", 30) // 90 bytes
	hash, salt, _ := h.Hash(ctx, rand.Reader, base+"x")
	if ok, _ := h.Verify(ctx, base+"x", hash, salt); !ok {
		t.Fatal("long password not accepted")
	}
	if ok, _ := h.Verify(ctx, base+"y", hash, salt); ok {
		t.Fatal("passwords differing after byte 72 verified as equal")
	}
}

// The unknown-user compare must be a real bcrypt compare at the configured
// cost, or unknown usernames would be cheaper (and so faster) to refuse.
func TestDummyHashHasConfiguredCost(t *testing.T) {
	for _, cost := range []int{bcrypt.MinCost, 10} {
		h := mustHasher(t, cost)
		got, err := bcrypt.Cost([]byte(password.DummyHash(h)))
		if err != nil || got != cost {
			t.Errorf("dummy hash cost = %d, %v; want %d", got, err, cost)
		}
	}
}

func TestPoolRefusesWhenFull(t *testing.T) {
	h := mustHasher(t, 12)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	busy := 0
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.VerifyDummy(ctx, "x"); errors.Is(err, password.ErrBusy) {
				mu.Lock()
				busy++
				mu.Unlock()
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	cancel()
	wg.Wait()
	if busy == 0 {
		t.Fatal("200 parallel hashes were all admitted: the pool is unbounded")
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	if _, err := password.New([]byte("short"), 12); err == nil {
		t.Error("short pepper accepted")
	}
	if _, err := password.New(pepper, 2); err == nil {
		t.Error("cost 2 accepted")
	}
}

// One client can hold only its share of the pool: its further requests
// wait in a short queue of their own and then are refused, while another
// client still finds a slot at once.
func TestFairSharePerClient(t *testing.T) {
	h := mustHasher(t, bcrypt.MinCost)
	ctx := context.Background()
	if h.Slots() < 2 || h.Share() >= h.Slots() {
		t.Fatalf("pool of %d slots with a share of %d: one client could fill it", h.Slots(), h.Share())
	}
	var held []*password.Slot
	for i := 0; i < h.Share(); i++ {
		s, err := h.Reserve(ctx, "203.0.113.9")
		if err != nil {
			t.Fatalf("reservation %d within the share: %v", i+1, err)
		}
		held = append(held, s)
	}
	// Past its share the client waits (its own queue), then is refused.
	waitCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := h.Reserve(waitCtx, "203.0.113.9")
			if err == nil {
				s.Release()
			}
			errs <- err
		}()
	}
	// Meanwhile other clients get a slot without waiting.
	for i := 0; i < 3; i++ {
		quick, stop := context.WithTimeout(ctx, time.Second)
		s, err := h.Reserve(quick, fmt.Sprintf("198.51.100.%d", i))
		stop()
		if err != nil {
			t.Fatalf("another client while one holds its share: %v", err)
		}
		s.Release()
	}
	time.Sleep(50 * time.Millisecond)
	cancel()
	wg.Wait()
	close(errs)
	refused := 0
	for err := range errs {
		if errors.Is(err, password.ErrClientBusy) {
			refused++
		} else if err != nil {
			t.Fatalf("over-share reservation: %v, want ErrClientBusy", err)
		}
	}
	if refused != 100 {
		t.Fatalf("%d of 100 reservations past the share refused, want all (the share is held)", refused)
	}
	for _, s := range held {
		s.Release()
	}
	// Released: the client may reserve again.
	s, err := h.Reserve(ctx, "203.0.113.9")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	s.Release()
}

// A free place is taken even by a request whose time is already up (the
// store may have used it): an idle client is never called busy.
func TestFreePlaceIsTakenWhateverTheContext(t *testing.T) {
	h := mustHasher(t, bcrypt.MinCost)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for i := 0; i < 50; i++ {
		slot, err := h.Reserve(done, "198.51.100.7")
		if err != nil {
			t.Fatalf("try %d: an idle pool refused: %v", i+1, err)
		}
		slot.Release()
	}
}
