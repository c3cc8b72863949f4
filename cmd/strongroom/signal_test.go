package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeStopsOnSignal runs "strongroom serve" as a process, as an
// operator would, and stops it with SIGTERM and SIGINT.
func TestServeStopsOnSignal(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cmd := runChild(t, dir, "serve -addr 127.0.0.1:0")
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			// The log's "strongroom serving" line gives the bound address.
			sc := bufio.NewScanner(stderr)
			var addr string
			var lines []string
			for addr == "" && sc.Scan() {
				lines = append(lines, sc.Text())
				var entry struct{ Msg, Addr string }
				if json.Unmarshal(sc.Bytes(), &entry) == nil && entry.Msg == "strongroom serving" {
					addr = entry.Addr
				}
			}
			if addr == "" {
				t.Fatalf("no serving line in the log:\n%s", strings.Join(lines, "\n"))
			}
			res, err := http.Get("http://" + addr + "/healthz")
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("healthz: %v", err)
			}
			res.Body.Close()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				for sc.Scan() {
					lines = append(lines, sc.Text())
				}
				done <- cmd.Wait()
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("exit after %v: %v\n%s", sig, err, strings.Join(lines, "\n"))
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("still running 15 s after %v", sig)
			}
			if !strings.Contains(strings.Join(lines, "\n"), "shutting down") {
				t.Fatalf("no shutdown in the log:\n%s", strings.Join(lines, "\n"))
			}
		})
	}
}
