package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// A release build says the version it was stamped with, and the Go that
// built it.
func TestVersionStamped(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "strongroom")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v9.9.9-test", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	for _, arg := range []string{"version", "-version", "--version"} {
		cmd := exec.Command(bin, arg)
		cmd.Dir = t.TempDir() // no .env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		if want := "strongroom v9.9.9-test (" + runtime.Version() + ")\n"; string(out) != want {
			t.Errorf("strongroom %s printed %q, want %q", arg, out, want)
		}
	}
}

// An unstamped build still names itself, from what the go command
// recorded, and prints the version even if the .env cannot be read.
func TestVersionUnstamped(t *testing.T) {
	// Not parallel: t.Chdir changes the working directory of the whole process.
	t.Chdir(t.TempDir())
	if err := os.WriteFile(".env", []byte("NOT A SETTING\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"version"}, func(string) (string, bool) { return "", false }, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	out := stdout.String()
	if !strings.HasPrefix(out, "strongroom ") || len(strings.TrimSpace(strings.TrimPrefix(out, "strongroom "))) == 0 ||
		!strings.HasSuffix(out, " ("+runtime.Version()+")\n") {
		t.Fatalf("printed %q", out)
	}
}

// The fallbacks, in order, when nothing was stamped.
func TestDescribeVersion(t *testing.T) {
	t.Parallel()
	vcs := func(mainVersion, revision, modified string) *debug.BuildInfo {
		info := &debug.BuildInfo{Main: debug.Module{Path: "github.com/strongroom/strongroom", Version: mainVersion}}
		if revision != "" {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: "vcs.revision", Value: revision})
		}
		if modified != "" {
			info.Settings = append(info.Settings, debug.BuildSetting{Key: "vcs.modified", Value: modified})
		}
		return info
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		name    string
		stamped string
		info    *debug.BuildInfo
		want    string
	}{
		{"stamped wins", "v1.2.3", vcs("v1.0.0", rev, "true"), "v1.2.3"},
		{"module version", "", vcs("v1.4.0", rev, "false"), "v1.4.0"},
		{"commit", "", vcs("(devel)", rev, "false"), "0123456789ab"},
		{"commit with changes", "", vcs("(devel)", rev, "true"), "0123456789ab-dirty"},
		{"no version and no commit", "", vcs("(devel)", "", ""), "dev"},
		{"no build info", "", nil, "dev"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := describeVersion(tc.stamped, tc.info, tc.info != nil); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
