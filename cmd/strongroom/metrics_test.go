package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/strongroom/strongroom/internal/testclock"
)

// The metrics server, on its own loopback port, counts exactly what the
// requests made over the API's port cause: logins by outcome, a lockout,
// codes mailed and checked, data-key cache hits and misses, key-manager
// calls, a rotation, store calls, group commits and the requests
// themselves by route pattern; and the scrape names no user.
func TestMetricsCountRequests(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testMetricsCountRequests)
}

func testMetricsCountRequests(t *testing.T, cfg Config) {
	clk := testclock.New(time.Now())
	cfg.MetricsAddr = "127.0.0.1:0"
	// SQLite makes each new record durable in a group commit; MongoDB has
	// none.
	commits, store := 1.0, "sqlite"
	if cfg.MongoDBURL.IsSet() {
		commits, store = 0, "mongodb"
	}
	s := startServerAt(t, cfg, clk.Now)
	_, before := scrapeMetrics(t, s)
	// First: a large answer reaches the client before its handler has
	// returned and counted it; the requests that follow on the connection
	// wait for that.
	s.do("GET", "/openapi-3.0.json", "", nil).want(t, 200, "3.0 document")

	// The owner: registered first, so the administrator; a record, read
	// from the cache and then, once the cached key has expired, unwrapped
	// again.
	s.register("zelda", seedPassword)
	tok := s.login("zelda", seedPassword)
	rec := s.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "card_number", "value": "4111222233334444"}).
		want(t, 200, "create")
	id, _ := rec.JSON["id"].(string)
	s.do("GET", "/sensitive-data/"+id, tok, nil).want(t, 200, "read, key cached")
	clk.Add(61 * time.Second)
	s.do("GET", "/sensitive-data/"+id, tok, nil).want(t, 200, "read, key expired from the cache")

	// A second account, locked by five wrong passwords (which mails its
	// owner an unlock code), then refused while locked; a name without an
	// account fails like a wrong password.
	s.register("quentin", seedPassword)
	for i := range 5 {
		s.do("POST", "/login", "", map[string]string{"username": "quentin", "password": "Wr0ng!pass" + strconv.Itoa(i)}).
			want(t, 401, "wrong password")
	}
	s.do("POST", "/login", "", map[string]string{"username": "quentin", "password": seedPassword}).want(t, 429, "locked")
	s.do("POST", "/login", "", map[string]string{"username": "nobodyhere", "password": seedPassword}).want(t, 401, "no such user")

	// Email 2FA for the owner: a code to enroll (a wrong one first), then
	// a login that needs a mailed code (again a wrong one first).
	s.do("POST", "/send-otp", tok, map[string]string{"username": "zelda"}).want(t, 200, "send enrollment code")
	code := s.lastCode("zelda@example.com")
	s.do("POST", "/verify-otp", tok, map[string]string{"username": "zelda", "otp": wrongCode(code)}).want(t, 401, "wrong enrollment code")
	s.do("POST", "/verify-otp", tok, map[string]string{"username": "zelda", "otp": code}).want(t, 200, "enroll")
	challenge := s.startLogin("zelda")
	code = s.lastCode("zelda@example.com")
	s.verify("zelda", challenge, wrongCode(code)).want(t, 401, "wrong login code")
	tok, _ = s.verify("zelda", challenge, code).want(t, 200, "second step").JSON["access_token"].(string)

	s.do("POST", "/rotate-master-key", tok, nil).want(t, 200, "rotate")
	s.do("GET", "/no-such-route", "", nil).want(t, 404, "unknown route")
	s.do("BREW", "/healthz", "", nil).want(t, 405, "unknown method")

	raw, after := scrapeMetrics(t, s)
	wantDeltas(t, before, after, map[string]float64{
		`strongroom_logins_total{outcome="success"}`:                   1,
		`strongroom_logins_total{outcome="second_factor_required"}`:    1,
		`strongroom_logins_total{outcome="failure"}`:                   6,
		`strongroom_logins_total{outcome="locked"}`:                    1,
		`strongroom_logins_total{outcome="refused"}`:                   0,
		`strongroom_lockouts_total{factor="password"}`:                 1,
		`strongroom_lockouts_total{factor="second_factor"}`:            0,
		`strongroom_codes_sent_total{purpose="enroll"}`:                1,
		`strongroom_codes_sent_total{purpose="login"}`:                 1,
		`strongroom_codes_sent_total{purpose="unlock"}`:                1,
		`strongroom_code_checks_total{kind="email",result="accepted"}`: 2,
		`strongroom_code_checks_total{kind="email",result="rejected"}`: 2,
		`strongroom_code_checks_total{kind="totp",result="rejected"}`:  0,
		// The enrollment code, its notice, the unlock code, the login code.
		`strongroom_mail_deliveries_total{result="ok"}`:                                              4,
		`strongroom_mail_delivery_duration_seconds_count`:                                            4,
		`strongroom_keycache_hits_total`:                                                             2,
		`strongroom_keycache_misses_total`:                                                           1,
		`strongroom_keymanager_calls_total{operation="wrap",result="ok"}`:                            2,
		`strongroom_keymanager_calls_total{operation="unwrap",result="ok"}`:                          1,
		`strongroom_keymanager_calls_total{operation="rotate",result="ok"}`:                          1,
		`strongroom_keymanager_calls_total{operation="rewrap",result="ok"}`:                          1,
		`strongroom_keymanager_calls_total{operation="retire",result="ok"}`:                          1,
		`strongroom_keymanager_call_duration_seconds_count{operation="unwrap"}`:                      1,
		`strongroom_keymanager_unwrapped_keys_total`:                                                 1,
		`strongroom_rotations_started_total`:                                                         1,
		`strongroom_rotations_finished_total{result="done"}`:                                         1,
		`strongroom_rotation_keys`:                                                                   2,
		`strongroom_rotation_keys_rewrapped`:                                                         2,
		`strongroom_store_operation_duration_seconds_count{operation="create_record"}`:               1,
		`strongroom_store_operation_duration_seconds_count{operation="claim_unknown_login_attempt"}`: 1,
		`strongroom_group_commit_size_count{queue="records"}`:                                        commits,
		`strongroom_group_commit_size_sum{queue="records"}`:                                          commits,
		`strongroom_http_requests_total{code="200",method="POST",route="/register"}`:                 2,
		`strongroom_http_requests_total{code="200",method="POST",route="/login"}`:                    2,
		`strongroom_http_requests_total{code="401",method="POST",route="/login"}`:                    6,
		`strongroom_http_requests_total{code="429",method="POST",route="/login"}`:                    1,
		`strongroom_http_requests_total{code="200",method="GET",route="/sensitive-data/{id}"}`:       2,
		`strongroom_http_requests_total{code="404",method="GET",route="unmatched"}`:                  1,
		`strongroom_http_requests_total{code="405",method="other",route="unmatched"}`:                1,
		`strongroom_http_requests_total{code="200",method="GET",route="/openapi-3.0.json"}`:          1,
		`strongroom_http_request_duration_seconds_count{code="401",method="POST",route="/login"}`:    6,
	})
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "strongroom_keycache_keys", "strongroom_keycache_capacity", "strongroom_keymanager_unwraps_waiting", "strongroom_ended_sessions"} {
		if _, ok := after[name]; !ok {
			t.Errorf("the scrape has no %s", name)
		}
	}
	if _, ok := after[`strongroom_backends_info{key_manager="local",mailer="outbox",store="`+store+`"}`]; !ok {
		t.Errorf("the scrape has no strongroom_backends_info for %s, local, outbox", store)
	}

	// Nothing in it names a user, a record or a client: no username,
	// email, user id (the tokens' subject), record id or value, token or
	// address.
	for _, secret := range []string{"zelda", "quentin", "nobodyhere", "example.com", subject(t, tok), id, "4111222233334444", tok, "127.0.0.1"} {
		if strings.Contains(raw, secret) {
			t.Errorf("the scrape contains %q", secret)
		}
	}
	// Prometheus' own linter finds nothing to say (promtool check metrics
	// runs the same checks on a live server in the test command).
	problems, err := promlint.New(strings.NewReader(raw)).Lint()
	if err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
}

// wrongCode is a 6-digit code other than code.
func wrongCode(code string) string {
	n, _ := strconv.Atoi(code)
	return fmt.Sprintf("%06d", (n+1)%1_000_000)
}

// subject is a token's sub claim: the user's id.
func subject(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct{ Sub string }
	if err == nil {
		err = json.Unmarshal(b, &claims)
	}
	if err != nil || claims.Sub == "" {
		t.Fatalf("token claims %s: %v", b, err)
	}
	return claims.Sub
}

// /metrics is served on its own listener only: the API's port does not
// serve it, and the metrics port serves nothing else. On loopback it
// answers only a loopback Host, as the debug server does.
func TestMetricsOnlyOnItsListener(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, t.TempDir())
	cfg.MetricsAddr = "127.0.0.1:0"
	s := startServer(t, cfg)
	if s.MetricsAddr == "" || s.MetricsAddr == s.Addr {
		t.Fatalf("metrics at %q, API at %q", s.MetricsAddr, s.Addr)
	}
	s.do("GET", "/metrics", "", nil).want(t, 404, "/metrics on the API's port")
	for _, path := range []string{"/", "/healthz", "/debug/pprof/", "/metrics/x"} {
		if got := rawGet(t, s.MetricsAddr, path, s.MetricsAddr); !strings.Contains(got, " 404 ") {
			t.Errorf("GET %s on the metrics port: %s, want 404", path, got)
		}
	}
	if got := rawGet(t, s.MetricsAddr, "/metrics", "evil.example"); got != "HTTP/1.1 421 Misdirected Request" {
		t.Errorf("GET /metrics with Host evil.example: %s, want 421", got)
	}
	if got := rawGet(t, s.MetricsAddr, "/metrics", "localhost"); got != "HTTP/1.1 200 OK" {
		t.Errorf("GET /metrics with Host localhost: %s, want 200", got)
	}

	// Without STRONGROOM_METRICS_ADDR there is no metrics server.
	off := startServer(t, testConfig(t, t.TempDir()))
	if off.MetricsAddr != "" || off.metrics != nil {
		t.Fatalf("metrics served at %q without STRONGROOM_METRICS_ADDR", off.MetricsAddr)
	}
}

// STRONGROOM_METRICS_ADDR is refused where it would share the API's
// listener (or the debug server's), also when serve -addr moves the API
// onto it.
func TestMetricsAddrConfig(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		vars map[string]string
		ok   bool
	}{
		"loopback":                 {map[string]string{"STRONGROOM_METRICS_ADDR": "127.0.0.1:9464"}, true},
		"every interface":          {map[string]string{"STRONGROOM_METRICS_ADDR": ":9464"}, true},
		"another host, same port":  {map[string]string{"STRONGROOM_ADDR": "127.0.0.1:8000", "STRONGROOM_METRICS_ADDR": "10.0.0.5:8000"}, true},
		"the default API address":  {map[string]string{"STRONGROOM_METRICS_ADDR": ":8000"}, false},
		"the API's port, wildcard": {map[string]string{"STRONGROOM_METRICS_ADDR": "0.0.0.0:8000"}, false},
		"the API's, IPv6 wildcard": {map[string]string{"STRONGROOM_ADDR": "[::]:9000", "STRONGROOM_METRICS_ADDR": "127.0.0.1:9000"}, false},
		"the API's exactly":        {map[string]string{"STRONGROOM_ADDR": "127.0.0.1:9000", "STRONGROOM_METRICS_ADDR": "127.0.0.1:9000"}, false},
		"the debug server's":       {map[string]string{"STRONGROOM_DEBUG_ADDR": "127.0.0.1:6060", "STRONGROOM_METRICS_ADDR": "127.0.0.1:6060"}, false},
		"no port":                  {map[string]string{"STRONGROOM_METRICS_ADDR": "127.0.0.1"}, false},
	} {
		t.Run(name, func(t *testing.T) {
			cfg, err := LoadConfig(envFrom(t, c.vars, ""))
			if c.ok && (err != nil || cfg.MetricsAddr != c.vars["STRONGROOM_METRICS_ADDR"]) {
				t.Fatalf("refused: %v", err)
			}
			if !c.ok && (err == nil || !strings.Contains(err.Error(), "STRONGROOM_METRICS_ADDR")) {
				t.Fatalf("accepted, or refused without naming STRONGROOM_METRICS_ADDR: %v", err)
			}
		})
	}
	m := NewMain()
	m.Stderr = &syncBuffer{}
	err := m.ParseFlags(envFrom(t, map[string]string{"STRONGROOM_METRICS_ADDR": "127.0.0.1:9464"}, ""), "serve", []string{"-addr", ":9464"})
	if err == nil || !strings.Contains(err.Error(), "STRONGROOM_METRICS_ADDR") {
		t.Fatalf("serve -addr onto the metrics address: %v", err)
	}
}
