package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongroom/strongroom/internal/failpoint"
	"github.com/strongroom/strongroom/internal/testserver"
	"github.com/strongroom/strongroom/secret"
)

// TestMain lets a test run this program as a child process (to kill it
// mid-rotation): with STRONGROOM_TEST_MAIN set, the test binary is strongroom.
func TestMain(m *testing.M) {
	if args := os.Getenv("STRONGROOM_TEST_MAIN"); args != "" {
		// A child may stop for good at a failpoint, to be killed there; or,
		// with STRONGROOM_TEST_FAILPOINT_UNTIL, the first time it gets
		// there, wait until the file that names exists.
		if fp := os.Getenv("STRONGROOM_TEST_FAILPOINT"); fp != "" {
			until := os.Getenv("STRONGROOM_TEST_FAILPOINT_UNTIL")
			var once sync.Once
			failpoint.Enable(fp, func() {
				fmt.Fprintln(os.Stderr, "failpoint reached: "+fp)
				if until == "" {
					select {}
				}
				once.Do(func() {
					for _, err := os.Stat(until); err != nil; _, err = os.Stat(until) {
						time.Sleep(10 * time.Millisecond)
					}
				})
			})
		}
		os.Args = append([]string{"strongroom"}, strings.Fields(args)...)
		main()
		os.Exit(0)
	}
	code := m.Run()
	testserver.StopMongoDB()
	testserver.StopVault()
	os.Exit(code)
}

// stores are the store shapes the end-to-end tests run against.
var stores = []string{"sqlite", "mongodb"}

// storeConfig is testConfig for the named store: MongoDB runs against the
// test MongoDB-protocol server, in a database of its own.
func storeConfig(t testing.TB, store string) Config {
	cfg := testConfig(t, t.TempDir())
	if store == "mongodb" {
		cfg.MongoDBURL = secret.New(testserver.MongoDBURL(t))
		cfg.DBName = testserver.DatabaseName("e2e")
	}
	return cfg
}

// forEachStore runs f as a subtest per store, one after the other: for
// the tests that must not run beside others (see their "Not parallel").
func forEachStore(t *testing.T, f func(t *testing.T, cfg Config)) {
	for _, store := range stores {
		t.Run(store, func(t *testing.T) { f(t, storeConfig(t, store)) })
	}
}

// forEachStoreParallel runs f as a parallel subtest per store: for a test
// that called t.Parallel, whose stores then run beside each other and
// beside the other parallel tests.
func forEachStoreParallel(t *testing.T, f func(t *testing.T, cfg Config)) {
	for _, store := range stores {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			f(t, storeConfig(t, store))
		})
	}
}

// syncBuffer collects the server's log from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is a running Strongroom on a free loopback port.
type testServer struct {
	*Main
	t    testing.TB
	URL  string
	Logs *syncBuffer
}

// config is the test configuration: a temp data dir, a free loopback port
// and bcrypt at a low cost, so tests run fast.
func testConfig(t testing.TB, dataDir string) Config {
	return Config{Addr: "127.0.0.1:0", DataDir: dataDir, BcryptCost: 4, EmailFrom: "strongroom@example.com"}
}

// startServer runs Main as the serve command does and stops it at the end.
func startServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	return startServerAt(t, cfg, nil)
}

// startServerAt is startServer on the clock now (time.Now if nil).
func startServerAt(t testing.TB, cfg Config, now func() time.Time) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	m := NewMain()
	m.Config, m.Now = cfg, now
	m.Log = slogTo(logs)
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		closeIdleClients() // see closeIdleClients: Close would wait for them
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &testServer{Main: m, t: t, URL: "http://" + m.Addr, Logs: logs}
}

// response is an HTTP answer with its body decoded.
type response struct {
	Status int
	Header http.Header
	Raw    string
	JSON   map[string]any
	List   []any
}

var client = &http.Client{Timeout: 30 * time.Second}

// do sends a request with a JSON body (a string is sent as is).
func (s *testServer) do(method, path, bearer string, body any) response {
	s.t.Helper()
	return s.doWith(client, method, path, bearer, body)
}

// doWith is do with the HTTP client c (one from another address, say).
func (s *testServer) doWith(c *http.Client, method, path, bearer string, body any) response {
	s.t.Helper()
	return s.request(c, method, path, bearer, body, nil)
}

// doHeaders is do with extra request headers.
func (s *testServer) doHeaders(method, path, bearer string, body any, headers map[string]string) response {
	s.t.Helper()
	return s.request(client, method, path, bearer, body, headers)
}

func (s *testServer) request(c *http.Client, method, path, bearer string, body any, headers map[string]string) response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for k, v := range headers {
		req.Header[k] = []string{v} // as is: a test may send what net/http would refuse to build
	}
	res, err := c.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.JSON)
	_ = json.Unmarshal(raw, &r.List)
	return r
}

// want checks the status and, for errors, that a detail is given.
func (r response) want(t testing.TB, status int, what string) response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.Status, status, r.Raw)
	}
	if status >= 400 {
		if d, _ := r.JSON["detail"].(string); d == "" {
			t.Fatalf("%s: error without a detail: %s", what, r.Raw)
		}
	}
	return r
}

// wantBody checks the exact JSON answer.
func (r response) wantBody(t testing.TB, want string) {
	t.Helper()
	var got, exp any
	if err := json.Unmarshal([]byte(r.Raw), &got); err != nil {
		t.Fatalf("answer is not JSON: %s", r.Raw)
	}
	_ = json.Unmarshal([]byte(want), &exp)
	gb, _ := json.Marshal(got)
	eb, _ := json.Marshal(exp)
	if !bytes.Equal(gb, eb) {
		t.Fatalf("body = %s, want %s", gb, eb)
	}
}

func (s *testServer) register(username, password string) {
	s.t.Helper()
	s.do("POST", "/register", "", map[string]string{"username": username, "email": username + "@example.com", "password": password}).
		want(s.t, 200, "register "+username)
}

func (s *testServer) login(username, password string) string {
	s.t.Helper()
	r := s.do("POST", "/login", "", map[string]string{"username": username, "password": password}).want(s.t, 200, "login "+username)
	tok, _ := r.JSON["access_token"].(string)
	if tok == "" || r.JSON["token_type"] != "bearer" {
		s.t.Fatalf("login answer %s", r.Raw)
	}
	return tok
}

var codeRE = regexp.MustCompile(`code is (\d{6})`)

// mails returns the messages to addr in the outbox, oldest first.
func (s *testServer) mails(addr string) []string {
	s.t.Helper()
	if s.Service != nil {
		s.Service.Wait() // notices are mailed after the answer
	}
	files, _ := filepath.Glob(filepath.Join(s.Config.DataDir, "outbox", "*.eml"))
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			s.t.Fatal(err)
		}
		if strings.Contains(string(b), "\r\nTo: "+addr+"\r\n") {
			out = append(out, string(b))
		}
	}
	return out
}

// lastCode returns the code of the newest mail to addr that carries one
// (notices carry none).
func (s *testServer) lastCode(addr string) string {
	s.t.Helper()
	mails := s.mails(addr)
	for i := len(mails) - 1; i >= 0; i-- {
		if m := codeRE.FindStringSubmatch(mails[i]); m != nil {
			return m[1]
		}
	}
	s.t.Fatalf("no mail with a code to %s in the outbox", addr)
	return ""
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// slogTo logs everything, as JSON, into w.
func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
