package service_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/audit"
	"github.com/strongroom/strongroom/internal/testclock"
	"github.com/strongroom/strongroom/localkms"
	"github.com/strongroom/strongroom/outbox"
	"github.com/strongroom/strongroom/password"
	"github.com/strongroom/strongroom/secret"
	"github.com/strongroom/strongroom/service"
	"github.com/strongroom/strongroom/sqlite"
	"github.com/strongroom/strongroom/token"
)

type env struct {
	svc    *service.Service
	trail  *audit.Trail
	hasher *password.Hasher
	store  strongroom.Store
	clock  *testclock.Clock
	outbox string
}

// newEnv builds a Service on the real embedded parts in a temp dir.
func newEnv(t *testing.T, tweaks ...func(*service.Config)) *env {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	kms, err := localkms.Open(filepath.Join(dir, localkms.FileName))
	if err != nil {
		t.Fatal(err)
	}
	clk := testclock.New(time.Now())
	box, err := outbox.New(filepath.Join(dir, "outbox"), "strongroom@example.com", clk.Now, nil)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := password.New([]byte("pepper pepper pepper pepper"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := token.NewIssuer([]byte("0123456789abcdef0123456789abcdef"), time.Hour, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	otpKey := make([]byte, 32)
	_, _ = rand.Read(otpKey)
	// The real audit trail on the real store, on the service's clock.
	trail := audit.New(db, audit.DeriveKey([]byte("pepper pepper pepper pepper")), audit.Options{Now: clk.Now})
	t.Cleanup(func() { trail.Close() })
	cfg := service.Config{Store: db, Keys: kms, Mailer: box, Passwords: hasher, Tokens: tokens, OTPKey: secret.New(string(otpKey)),
		Audit: trail, Now: clk.Now}
	for _, tweak := range tweaks {
		tweak(&cfg)
	}
	svc, err := service.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Stop)
	return &env{svc: svc, trail: trail, hasher: hasher, store: db, clock: clk, outbox: filepath.Join(dir, "outbox")}
}

const pw = "StrongP@ssw0rd1!"

var codeRE = regexp.MustCompile(`code is (\d{6})`)

func (e *env) lastCode(t *testing.T) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(e.outbox, "*.eml"))
	if len(files) == 0 {
		t.Fatal("no mail")
	}
	b, _ := os.ReadFile(files[len(files)-1])
	return codeRE.FindStringSubmatch(string(b))[1]
}

func TestLockoutWindowWithInjectedClock(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.svc.Register(ctx, "127.0.0.1", "alice", "alice@example.com", pw); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := e.svc.Login(ctx, "127.0.0.1", "alice", "Wrong!pass1"); !strongroom.IsKind(err, strongroom.KindUnauthorized) {
			t.Fatalf("guess %d: %v", i+1, err)
		}
	}
	if _, err := e.svc.Login(ctx, "127.0.0.1", "alice", pw); !strongroom.IsKind(err, strongroom.KindLocked) {
		t.Fatalf("locked account: %v", err)
	}
	e.clock.Add(14 * time.Minute)
	if _, err := e.svc.Login(ctx, "127.0.0.1", "alice", pw); !strongroom.IsKind(err, strongroom.KindLocked) {
		t.Fatalf("14 minutes later: %v, want still locked", err)
	}
	e.clock.Add(61 * time.Second)
	res, err := e.svc.Login(ctx, "127.0.0.1", "alice", pw)
	if err != nil || res.Token == "" {
		t.Fatalf("15 minutes later: %v, want a token", err)
	}
	// A success resets the count: four more failures do not lock.
	for i := 0; i < 4; i++ {
		_, _ = e.svc.Login(ctx, "127.0.0.1", "alice", "Wrong!pass1")
	}
	if _, err := e.svc.Login(ctx, "127.0.0.1", "alice", pw); err != nil {
		t.Fatalf("after a success and 4 failures: %v", err)
	}
}

func TestCodeExpiresAfterFiveMinutes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.svc.Register(ctx, "127.0.0.1", "bob", "bob@example.com", pw); err != nil {
		t.Fatal(err)
	}
	res, _ := e.svc.Login(ctx, "127.0.0.1", "bob", pw)
	p, err := e.svc.Authenticate(res.Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.SendOTP(ctx, p, "127.0.0.1", "bob", ""); err != nil {
		t.Fatal(err)
	}
	code := e.lastCode(t)
	e.clock.Add(5*time.Minute + time.Second)
	if _, err := e.svc.VerifyOTP(ctx, p, "127.0.0.1", "bob", "", code); !strongroom.IsKind(err, strongroom.KindUnauthorized) {
		t.Fatalf("expired code: %v", err)
	}
	// A new code, used in time. The clock steps back, which the store's
	// rate limits count as the budget spent in between (servers' clocks
	// agree): this try comes from another address.
	e.clock.Add(-5 * time.Minute)
	if err := e.svc.SendOTP(ctx, p, "127.0.0.2", "bob", ""); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(4 * time.Minute)
	if _, err := e.svc.VerifyOTP(ctx, p, "127.0.0.2", "bob", "", e.lastCode(t)); err != nil {
		t.Fatalf("code within 5 minutes: %v", err)
	}
}

func TestTokenExpiresAfterAnHour(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.svc.Register(ctx, "127.0.0.1", "carol", "carol@example.com", pw); err != nil {
		t.Fatal(err)
	}
	res, _ := e.svc.Login(ctx, "127.0.0.1", "carol", pw)
	e.clock.Add(time.Hour + time.Second)
	if _, err := e.svc.Authenticate(res.Token); !strongroom.IsKind(err, strongroom.KindUnauthorized) {
		t.Fatalf("token after an hour: %v", err)
	}
}

// Parallel verifications of one right code: exactly one gets a token.
func TestCodeAcceptedOnceUnderRace(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.svc.Register(ctx, "127.0.0.1", "dora", "dora@example.com", pw); err != nil {
		t.Fatal(err)
	}
	res, _ := e.svc.Login(ctx, "127.0.0.1", "dora", pw)
	p, _ := e.svc.Authenticate(res.Token)
	if err := e.svc.SendOTP(ctx, p, "127.0.0.1", "dora", ""); err != nil {
		t.Fatal(err)
	}
	code := e.lastCode(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	tokens := 0
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if tok, err := e.svc.VerifyOTP(ctx, p, "127.0.0.1", "dora", "", code); err == nil && tok != "" {
				mu.Lock()
				tokens++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if tokens != 1 {
		t.Fatalf("%d parallel uses of one code succeeded, want 1", tokens)
	}
}

// A mail that cannot be written leaves no usable code and answers 503.
func TestUndeliveredCodeIsRemoved(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.svc.Register(ctx, "127.0.0.1", "erin", "erin@example.com", pw); err != nil {
		t.Fatal(err)
	}
	res, _ := e.svc.Login(ctx, "127.0.0.1", "erin", pw)
	p, _ := e.svc.Authenticate(res.Token)
	if err := os.RemoveAll(e.outbox); err != nil { // the outbox is gone: delivery fails
		t.Fatal(err)
	}
	if err := e.svc.SendOTP(ctx, p, "127.0.0.1", "erin", ""); !strongroom.IsKind(err, strongroom.KindUnavailable) {
		t.Fatalf("SendOTP with a broken mailer: %v, want unavailable", err)
	}
	u, _ := e.store.UserByUsername(ctx, "erin")
	if _, err := e.store.Challenge(ctx, u.ID, strongroom.PurposeEnroll, e.clock.Now()); !strongroom.IsKind(err, strongroom.KindNotFound) {
		t.Fatalf("an unsent code is still stored: %v", err)
	}
}

// A busy hashing pool is not a wrong password: changes that check the
// password take a hashing slot before the lockout counts, so busy answers
// with the right password never lock the account.
func TestBusyAnswersDoNotCountAsFailures(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.svc.Register(ctx, "127.0.0.1", "fran", "fran@example.com", pw); err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Login(ctx, "127.0.0.1", "fran", pw)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := e.svc.Authenticate(res.Token)
	var held []*password.Slot // the pool is full, held by other clients
	for i := 0; ; i++ {
		busy, cancel := context.WithTimeout(ctx, time.Millisecond)
		slot, err := e.hasher.Reserve(busy, fmt.Sprintf("10.0.0.%d", i))
		cancel()
		if err != nil {
			break
		}
		held = append(held, slot)
	}
	for i := 0; i < 6; i++ {
		// Long enough for the store's reads, even under -race: the wait
		// that runs out is the one for a hashing slot.
		busy, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		err := e.svc.DisableTwoFactor(busy, p, "127.0.0.1", pw, "123456")
		cancel()
		busy, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
		_, err2 := e.svc.SetupTOTP(busy, p, "127.0.0.1", pw, "")
		cancel()
		if !strongroom.IsKind(err, strongroom.KindUnavailable) || !strongroom.IsKind(err2, strongroom.KindUnavailable) ||
			!errors.Is(err, strongroom.ErrOverload) || !errors.Is(err2, strongroom.ErrOverload) {
			t.Fatalf("try %d with a full pool: %v, %v; want unavailable for load", i+1, err, err2)
		}
	}
	for _, s := range held {
		s.Release()
	}
	if _, err := e.svc.Login(ctx, "127.0.0.1", "fran", pw); err != nil {
		t.Fatalf("login after 12 busy answers: %v", err)
	}
}

// An unlock code works for 15 minutes.
func TestUnlockCodeExpires(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.svc.Register(ctx, "127.0.0.1", "gus", "gus@example.com", pw); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		_, _ = e.svc.Login(ctx, "127.0.0.1", "gus", "Wrong!pass1")
	}
	e.svc.Wait() // the unlock code is mailed after the answer
	files, _ := filepath.Glob(filepath.Join(e.outbox, "*.eml"))
	if len(files) != 1 {
		t.Fatalf("%d mails, want the unlock code", len(files))
	}
	b, _ := os.ReadFile(files[0])
	code := regexp.MustCompile(`\b[A-Z2-7]{5}-[A-Z2-7]{5}\b`).FindString(string(b))
	e.clock.Add(15*time.Minute + time.Second)
	if err := e.svc.Unlock(ctx, "127.0.0.1", "gus", code); !strongroom.IsKind(err, strongroom.KindUnauthorized) {
		t.Fatalf("an unlock code after 15 minutes: %v", err)
	}
}

// A service cannot be built without an audit trail: no wiring can leave
// the events out by forgetting it.
func TestNewNeedsAnAuditTrail(t *testing.T) {
	e := newEnv(t)
	hasher := e.hasher
	tokens, err := token.NewIssuer([]byte("0123456789abcdef0123456789abcdef"), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	kms, err := localkms.Open(filepath.Join(t.TempDir(), localkms.FileName))
	if err != nil {
		t.Fatal(err)
	}
	box, err := outbox.New(t.TempDir(), "strongroom@example.com", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = service.New(service.Config{Store: e.store, Keys: kms, Mailer: box, Passwords: hasher, Tokens: tokens,
		OTPKey: secret.New("0123456789abcdef0123456789abcdef")})
	if err == nil || !regexp.MustCompile(`audit trail`).MatchString(err.Error()) {
		t.Fatalf("New without an audit trail: %v", err)
	}
}
