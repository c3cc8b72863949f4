package strongroom_test

import (
	"errors"
	"go/build"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/strongroom/strongroom"

// The house rule on layering: dependencies point inward. Package api, the
// HTTP edge, imports of this module only the service and the root package
// (what it needs of a request's id and client address is the root's,
// request.go), and only a command (package main) imports api, to wire it
// up. Package web, the web app, is held to the same imports as api. Only
// the packages themselves are checked, not their tests, which
// may wire up more (a logger from package requestid, say).
func TestLayering(t *testing.T) {
	apiAllowed := map[string]bool{module: true, module + "/service": true}
	checked := false
	err := filepath.WalkDir(".", func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if dir != "." {
			if n := d.Name(); strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_") || n == "testdata" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				return filepath.SkipDir // another module (tools/...)
			}
		}
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			var noGo *build.NoGoError
			if errors.As(err, &noGo) {
				return nil
			}
			return err
		}
		importPath := path.Join(module, filepath.ToSlash(dir))
		for _, imp := range pkg.Imports {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			if importPath == module+"/web" && !apiAllowed[imp] {
				t.Errorf("package web imports %s: it may import only service and the root package", imp)
			}
			if importPath == module+"/api" {
				checked = true
				if !apiAllowed[imp] {
					t.Errorf("package api imports %s: it may import only service and the root package", imp)
				}
			}
			if (imp == module+"/api" || strings.HasPrefix(imp, module+"/api/")) && pkg.Name != "main" {
				t.Errorf("package %s imports %s: only a command may", importPath, imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !checked {
		t.Fatal("package api was not found, or imports nothing of the module")
	}
}
