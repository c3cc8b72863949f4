package metrics

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/service"
)

// panicStore panics in every method, like a nil store: a call through the
// wrapper is timed only if the wrapper has the method itself (one it
// merely inherits from the embedded interface is not).
type panicStore struct{ strongroom.Store }

// Every method of strongroom.Store but Close is timed under its name in
// snake case: a method added to the interface fails here until the
// wrapper times it.
func TestStoreTimesEveryMethod(t *testing.T) {
	m := New()
	st := reflect.ValueOf(m.Store(panicStore{}))
	iface := reflect.TypeFor[strongroom.Store]()
	var want []string
	for i := range iface.NumMethod() {
		method := iface.Method(i)
		if method.Name == "Close" {
			continue
		}
		want = append(want, snakeCase(method.Name))
		args := make([]reflect.Value, method.Type.NumIn())
		for j := range args {
			args[j] = reflect.Zero(method.Type.In(j))
		}
		args[0] = reflect.ValueOf(context.Background())
		func() {
			defer func() { _ = recover() }()
			st.MethodByName(method.Name).Call(args)
		}()
	}
	got := histogramCounts(t, m, "strongroom_store_operation_duration_seconds", "operation")
	for _, op := range want {
		if got[op] != 1 {
			t.Errorf("operation %q timed %d times, want 1", op, got[op])
		}
	}
}

// snakeCase is UserByID -> user_by_id, UseTOTPStep -> use_totp_step.
func snakeCase(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if unicode.IsUpper(r) && i > 0 && (unicode.IsLower(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// histogramCounts returns a histogram's sample counts by one label's value.
func histogramCounts(t *testing.T, m *Metrics, name, label string) map[string]uint64 {
	t.Helper()
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == label {
					out[l.GetValue()] = s.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return out
}

// Errors are counted by their kind, never their message: a foreign error
// is "internal".
func TestKeyManagerResults(t *testing.T) {
	m := New()
	k := m.KeyManager(failingKeys{})
	_, _ = k.Unwrap(context.Background(), []strongroom.UserKey{{UserID: "owner"}})
	_ = k.Ping(context.Background())
	if got := testutil.ToFloat64(m.kmCalls.WithLabelValues("unwrap", "unavailable")); got != 1 {
		t.Errorf("unwrap unavailable = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.kmCalls.WithLabelValues("ping", "internal")); got != 1 {
		t.Errorf("ping internal = %v, want 1", got)
	}
}

type failingKeys struct{ strongroom.KeyManager }

func (failingKeys) Unwrap(context.Context, []strongroom.UserKey) ([]strongroom.Unwrapped, error) {
	return nil, strongroom.Unavailable("vault is sealed", errors.New("503 from 10.0.0.7"))
}
func (failingKeys) Ping(context.Context) error { return errors.New("secret detail") }

// A route label is the pattern without its method; a method outside the
// standard ones is "other", so a client cannot make new series.
func TestRequestLabels(t *testing.T) {
	for pattern, want := range map[string]string{
		"GET /sensitive-data/{id}": "/sensitive-data/{id}", "POST /login": "/login", "": "unmatched", "/bare": "/bare",
	} {
		if got := routeLabel(pattern); got != want {
			t.Errorf("routeLabel(%q) = %q, want %q", pattern, got, want)
		}
	}
	for method, want := range map[string]string{"GET": "GET", "DELETE": "DELETE", "get": "other", "BREW": "other", "": "other"} {
		if got := methodLabel(method); got != want {
			t.Errorf("methodLabel(%q) = %q, want %q", method, got, want)
		}
	}
}

// The audit trail's group commits (its OnCommit hook) land beside the
// records' under their own queue label.
func TestGroupCommitQueues(t *testing.T) {
	m := New()
	audit, records := m.GroupCommit("audit"), m.GroupCommit("records")
	audit(12, 3*time.Millisecond)
	audit(4, time.Millisecond)
	records(1, time.Millisecond)
	if got := histogramCounts(t, m, "strongroom_group_commit_size", "queue"); got["audit"] != 2 || got["records"] != 1 {
		t.Fatalf("commits by queue %v, want audit 2, records 1", got)
	}
}

// Everything registered, observed once, passes Prometheus' linter (the
// checks of promtool check metrics).
func TestLint(t *testing.T) {
	m := New()
	m.Info("v1.2.3", "sqlite", "local", "outbox")
	m.ServiceStats(func() service.Stats { return service.Stats{KeyCacheHits: 3} })
	m.ObserveRequest("GET /healthz", "GET", 200, time.Millisecond)
	o := m.Observer()
	o.Login(service.LoginSuccess)
	o.RotationStarted(10, 0)
	o.RotationFinished(true)
	m.GroupCommit("records")(3, time.Millisecond)
	problems, err := testutil.GatherAndLint(m.reg)
	if err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
}
