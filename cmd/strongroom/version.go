package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is the release, stamped at build time:
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/strongroom
//
// Empty, the build's own record is used (see describeVersion).
var version = ""

// printVersion prints "strongroom VERSION (GOVERSION)": the Go release
// says which standard-library fixes the binary has.
func printVersion(w io.Writer) error {
	info, ok := debug.ReadBuildInfo()
	_, err := fmt.Fprintf(w, "strongroom %s (%s)\n", describeVersion(version, info, ok), runtime.Version())
	return err
}

// describeVersion names the build: the stamped version if any; else the
// module version the go command recorded ("go install ...@v1.2.3", or
// one derived from a tag); else the commit it was built from, marked
// dirty if the tree had changes; else "dev".
func describeVersion(stamped string, info *debug.BuildInfo, ok bool) string {
	if stamped != "" {
		return stamped
	}
	if !ok || info == nil {
		return "dev"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if revision == "" {
		return "dev"
	}
	if len(revision) > 12 {
		revision = revision[:12]
	}
	if modified == "true" {
		revision += "-dirty"
	}
	return revision
}
