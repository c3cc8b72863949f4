package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The Dockerfile compiles the packages in deploy/go-deps.txt in a layer
// that is rebuilt only when they change, so an image build after a change
// to Strongroom's own code compiles only that code. A stale list still
// builds a correct image, only a slower one; this test keeps it current.
// Regenerate with:
//
//	UPDATE_DOCKER_DEPS=1 go test ./cmd/strongroom -run TestDockerDepsList
func TestDockerDepsList(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./cmd/strongroom")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var want []string
	for _, p := range strings.Fields(string(out)) {
		if !strings.HasPrefix(p, "github.com/strongroom/strongroom") {
			want = append(want, p)
		}
	}
	path := filepath.Join(root, "deploy", "go-deps.txt")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var header, have []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.HasPrefix(line, "#") {
			header = append(header, line)
		} else if line != "" {
			have = append(have, line)
		}
	}
	if strings.Join(have, "\n") == strings.Join(want, "\n") {
		return
	}
	if os.Getenv("UPDATE_DOCKER_DEPS") != "" {
		if err := os.WriteFile(path, []byte(strings.Join(append(header, want...), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("deploy/go-deps.txt is not the list of ./cmd/strongroom's non-standard imports from other modules; regenerate it:\n\tUPDATE_DOCKER_DEPS=1 go test ./cmd/strongroom -run TestDockerDepsList")
}
