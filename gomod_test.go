package strongroom_test

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// minToolchain is the first Go release without the standard-library
// vulnerabilities govulncheck reports for Go 1.26.8.
const minToolchain = "go1.27.3"

// go.mod names the patched toolchain, so a plain "go build" with the
// default GOTOOLCHAIN=auto on an older Go fetches and uses it, rather than
// building with a vulnerable standard library. The go line, the language
// version and the oldest Go that can start the switch, stays lower.
func TestGoModPinsPatchedToolchain(t *testing.T) {
	b, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	var goLine, toolchain string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "go" {
			goLine = "go" + f[1]
		}
		if len(f) == 2 && f[0] == "toolchain" {
			toolchain = f[1]
		}
	}
	if toolchain == "" {
		t.Fatalf("go.mod has no toolchain line: a plain go build would use whatever Go is installed")
	}
	if less(toolchain, minToolchain) {
		t.Errorf("toolchain %s is older than %s", toolchain, minToolchain)
	}
	if goLine == "" || less(toolchain, goLine) {
		t.Errorf("go line %s is newer than the toolchain %s", goLine, toolchain)
	}
}

// less compares Go release names such as go1.26.8 and go1.27.3.
func less(a, b string) bool {
	pa, pb := strings.Split(strings.TrimPrefix(a, "go"), "."), strings.Split(strings.TrimPrefix(b, "go"), ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}
