package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// runHealthcheck runs "strongroom healthcheck args..." with the process
// environment vars, and returns the names it looked up and its error.
func runHealthcheck(t *testing.T, vars map[string]string, args ...string) ([]string, error) {
	t.Helper()
	var looked []string
	lookup := func(k string) (string, bool) {
		looked = append(looked, k)
		v, ok := vars[k]
		return v, ok
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append([]string{"healthcheck"}, args...), lookup, &stdout, &stderr)
	return looked, err
}

// A running Strongroom passes, wherever STRONGROOM_ADDR says it listens,
// with a configuration the server itself would refuse: the check reads
// STRONGROOM_ADDR and nothing else, no secret among it.
func TestHealthcheckHealthy(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	_, port, _ := net.SplitHostPort(s.Addr)
	unused := map[string]string{
		"STRONGROOM_ENV":       "production", // without JWT_SECRET or PEPPER
		"PEPPER_FILE":          "/nonexistent/pepper",
		"STRONGROOM_LOG_LEVEL": "loud",
	}
	for _, addr := range []string{s.Addr, ":" + port, "0.0.0.0:" + port, "[::]:" + port} {
		t.Run(addr, func(t *testing.T) {
			vars := map[string]string{"STRONGROOM_ADDR": addr}
			for k, v := range unused {
				vars[k] = v
			}
			looked, err := runHealthcheck(t, vars)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range looked {
				if name != "STRONGROOM_ADDR" && name != "STRONGROOM_ADDR_FILE" {
					t.Errorf("healthcheck read %s", name)
				}
			}
		})
	}
	t.Run("-url", func(t *testing.T) {
		if _, err := runHealthcheck(t, nil, "-url", s.URL+"/readyz"); err != nil {
			t.Fatal(err)
		}
	})
}

// A server that answers, but not 200, fails the check, which says what it
// got, after one request.
func TestHealthcheckUnhealthy(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	_, err := runHealthcheck(t, nil, "-url", srv.URL+"/readyz")
	want := "healthcheck: GET " + srv.URL + "/readyz: 503 Service Unavailable"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("%d requests, want 1: a health check does not retry", n)
	}
}

// As a process, an unhealthy check exits 1 (what Docker reads as
// unhealthy) after one line on stderr.
func TestHealthcheckExitStatus(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STRONGROOM_TEST_MAIN=healthcheck -url "+srv.URL+"/readyz")
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1; stderr %q", err, stderr.String())
	}
	want := "strongroom: healthcheck: GET " + srv.URL + "/readyz: 503 Service Unavailable\n"
	if stderr.String() != want || stdout.Len() != 0 {
		t.Errorf("stderr %q, stdout %q; want stderr %q", stderr.String(), stdout.String(), want)
	}
}

// Nothing listening fails the check, naming the URL it tried.
func TestHealthcheckNothingListening(t *testing.T) {
	// Not parallel: the port it frees must stay unused, and parallel tests open ports.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = runHealthcheck(t, map[string]string{"STRONGROOM_ADDR": addr})
	if want := "healthcheck: GET http://" + addr + "/readyz: "; err == nil || !strings.HasPrefix(err.Error(), want) ||
		strings.Count(err.Error(), "http://") != 1 {
		t.Fatalf("err = %v, want one starting %q, naming the URL once", err, want)
	}
	// A password in -url is not repeated.
	_, err = runHealthcheck(t, nil, "-url", "http://probe:s3cr3t@"+addr+"/readyz")
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("err = %v", err)
	}
}

// A server that does not answer fails the check after -timeout.
func TestHealthcheckTimeout(t *testing.T) {
	// Not parallel: it asserts how long the check took.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	start := time.Now()
	_, err := runHealthcheck(t, nil, "-url", srv.URL+"/readyz", "-timeout", "200ms")
	if want := "healthcheck: GET " + srv.URL + "/readyz: no answer within 200ms"; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s with -timeout 200ms", d)
	}
}

// The default URL: STRONGROOM_ADDR's port, on loopback for a wildcard
// host, else on the host the server listens on.
func TestReadyURL(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]string{
		"":               "http://127.0.0.1:8000/readyz",
		":8000":          "http://127.0.0.1:8000/readyz",
		"0.0.0.0:9000":   "http://127.0.0.1:9000/readyz",
		"[::]:9000":      "http://127.0.0.1:9000/readyz",
		"127.0.0.2:8000": "http://127.0.0.2:8000/readyz",
		"[::1]:8000":     "http://[::1]:8000/readyz",
		"localhost:8000": "http://localhost:8000/readyz",
		"10.1.2.3:8000":  "http://10.1.2.3:8000/readyz",
	} {
		if got, err := readyURL(addr); err != nil || got != want {
			t.Errorf("readyURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	if _, err := readyURL("8000"); err == nil || !strings.Contains(err.Error(), "STRONGROOM_ADDR") {
		t.Errorf("readyURL(\"8000\"): err = %v, want one naming STRONGROOM_ADDR", err)
	}
}

// Flags that make no sense are refused before any request.
func TestHealthcheckRefusesFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-timeout", "0s"}, "healthcheck: -timeout must be"},
		{[]string{"-url", "127.0.0.1:8000/readyz"}, "healthcheck: -url must be"},
		{[]string{"-url", "ftp://127.0.0.1/readyz"}, "healthcheck: -url must be"},
		{[]string{"extra"}, "healthcheck: unexpected argument"},
	} {
		if _, err := runHealthcheck(t, nil, tc.args...); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want one starting %q", tc.args, err, tc.want)
		}
	}
}

// -file: the Vault bootstrap's healthcheck passes only once its AppRole
// secret id is written, and never shows what the file holds.
func TestHealthcheckFile(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/secret-id"
	if _, err := runHealthcheck(t, nil, "-file", path); err == nil {
		t.Fatal("a missing file passed")
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runHealthcheck(t, nil, "-file", path); err == nil {
		t.Fatal("an empty file passed")
	}
	if err := os.WriteFile(path, []byte("s3cr3t-id\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runHealthcheck(t, nil, "-file", path); err != nil {
		t.Fatalf("a written file failed: %v", err)
	}
	os.Remove(path)
	_, err := runHealthcheck(t, nil, "-file", path)
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("err = %v", err)
	}
}
