// Package stack drives the Compose stack (compose.yaml with the local
// stand-in images, scripts/stack-local.sh) for the tests that prove the
// deployment on a real Docker engine. It is its own module: nothing of it
// is part of the service.
package stack

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Stack is a running stack, as stack-local.sh up describes it.
type Stack struct {
	URL, MailpitURL, DockerHost, JWTSecretFile string
	root                                       string
}

// Root is the repository's root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Up brings the stack up (building what is missing) and reads the four
// lines stack-local.sh ends with.
func Up(t testing.TB) *Stack {
	t.Helper()
	s := &Stack{root: Root()}
	out := s.script(t, "up")
	for _, line := range strings.Split(out, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		switch k {
		case "STRONGROOM_URL":
			s.URL = v
		case "MAILPIT_URL":
			s.MailpitURL = v
		case "DOCKER_HOST":
			s.DockerHost = v
		case "JWT_SECRET_FILE":
			s.JWTSecretFile = v
		}
	}
	if s.URL == "" || s.MailpitURL == "" || s.DockerHost == "" || s.JWTSecretFile == "" {
		t.Fatalf("stack-local.sh up did not end with the four lines; it printed:\n%s", out)
	}
	return s
}

// Down removes the stack, its volumes, and the engine if the script
// started it.
func (s *Stack) Down(t testing.TB) { s.script(t, "down") }

func (s *Stack) script(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(s.root, "scripts", "stack-local.sh"), args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("stack-local.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Compose runs docker-compose on the stack.
func (s *Stack) Compose(t testing.TB, args ...string) string {
	t.Helper()
	return s.script(t, append([]string{"compose"}, args...)...)
}

// Docker runs the docker CLI against the stack's engine.
func (s *Stack) Docker(t testing.TB, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+s.DockerHost)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// Container returns the id of a service's container.
func (s *Stack) Container(t testing.TB, service string) string {
	t.Helper()
	id := strings.TrimSpace(s.Compose(t, "ps", "-q", service))
	if id == "" {
		t.Fatalf("no container for %s", service)
	}
	return id
}

// Inspect decodes docker inspect of a container.
func (s *Stack) Inspect(t testing.TB, id string) Container {
	t.Helper()
	var cs []Container
	if err := json.Unmarshal(s.Docker(t, "inspect", id), &cs); err != nil || len(cs) != 1 {
		t.Fatalf("docker inspect %s: %v", id, err)
	}
	return cs[0]
}

// Container is the part of docker inspect the tests read.
type Container struct {
	Config struct {
		User string
		Env  []string
	}
	HostConfig struct {
		ReadonlyRootfs bool
		CapDrop        []string
	}
}

// Files reads a path of a container (a file or a tree, from its image
// layers or its volumes) as a tar stream and returns each regular file's
// content by name.
func (s *Stack) Files(t testing.TB, id, path string) map[string][]byte {
	t.Helper()
	return untar(t, s.Docker(t, "cp", id+":"+path, "-"))
}

// Export reads a container's whole filesystem (without its volumes).
func (s *Stack) Export(t testing.TB, id string) map[string][]byte {
	t.Helper()
	return untar(t, s.Docker(t, "export", id))
}

// untar returns each regular file of a tar stream by name.
func untar(t testing.TB, b []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatalf("reading a tar stream from docker: %v", err)
		}
		if h.Typeflag == tar.TypeReg {
			content, _ := io.ReadAll(tr)
			files[h.Name] = content
		}
	}
}

// UIDs lists the user ids a container's processes run as, as the host's
// process table sees them.
func (s *Stack) UIDs(t testing.TB, id string) []string {
	t.Helper()
	// docker top runs ps on the host and needs its PID column.
	sc := bufio.NewScanner(bytes.NewReader(s.Docker(t, "top", id, "-eo", "pid,uid")))
	var uids []string
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[1] != "UID" {
			uids = append(uids, f[1])
		}
	}
	return uids
}

// WaitReady waits for the API's /readyz to answer 200.
func (s *Stack) WaitReady(t testing.TB, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r, err := http.Get(s.URL + "/readyz")
		if err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the API is not ready after %v (last: %v)", within, describe(r, err))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func describe(r *http.Response, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprint(r.StatusCode)
}
