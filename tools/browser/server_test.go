package browser

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// startServer builds strongroom from this repository and runs "serve" on
// a free loopback port with a fresh data dir (the embedded defaults), as a
// user would; it is stopped at the end of the test. It returns the base URL.
func startServer(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "strongroom")
	build := exec.Command("go", "build", "-o", bin, "./cmd/strongroom")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "STRONGROOM_ADDR=127.0.0.1:0", "STRONGROOM_DEBUG_ADDR=127.0.0.1:0",
		"STRONGROOM_DATA_DIR="+filepath.Join(dir, "data"), "STRONGROOM_BCRYPT_COST=10")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := make(chan string, 1)
	var last string
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			last = sc.Text()
			var e struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &e) == nil && e.Msg == "strongroom serving" {
				addr <- e.Addr
			}
		}
		close(addr)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatalf("the server exited before it served: %s", last)
		}
		return "http://" + a
	case <-time.After(60 * time.Second):
		t.Fatal("the server did not serve within 60 s")
	}
	return ""
}
