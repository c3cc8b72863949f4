// Command standins builds local stand-ins for the registry images the
// Compose stack names, on a Docker engine that reaches no registry:
//
//	strongroom-standin/golang:1.27.3    the local Go toolchain and busybox (the Dockerfile's build stage)
//	strongroom-standin/mongo:ferretdb   FerretDB, the tests' MongoDB-protocol server
//	strongroom-standin/vault:1.21.0     the Vault the tests build from its Go module
//	strongroom-standin/mailpit:v1.33.1  mailpit built from its Go module
//
// Each image carries a label with the hash of what went into it; an image
// whose label matches is kept, so a warm run builds nothing. The engine is
// the docker CLI's (DOCKER_HOST).
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/strongroom/strongroom/internal/testserver"
)

// image is one stand-in: the files of its build context and its Dockerfile.
type image struct {
	tag        string
	files      map[string]string // path in the context -> file on this machine
	dockerfile string
}

func main() {
	images, err := standins(os.Args[1:])
	if err == nil {
		for _, im := range images {
			if err = build(im); err != nil {
				break
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "standins:", err)
		os.Exit(1)
	}
}

// standins lists the images (those whose names contain one of only, if
// given), building the tool binaries they hold.
func standins(only []string) ([]image, error) {
	want := func(name string) bool {
		for _, o := range only {
			if strings.Contains(name, o) {
				return true
			}
		}
		return len(only) == 0
	}
	bins := map[string]string{}
	for _, name := range []string{"ferretdb", "vault", "mailpit"} {
		if !want(name) {
			continue
		}
		bin, err := testserver.Build(name)
		if err != nil {
			return nil, err
		}
		bins[name] = bin
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOROOT: %w", err)
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return nil, fmt.Errorf("busybox (Debian's busybox-static) is needed for the Go image's shell: %w", err)
	}
	const certs = "/etc/ssl/certs/ca-certificates.crt"
	all := []image{{
		tag: "strongroom-standin/golang:1.27.3",
		files: map[string]string{
			"usr/local/go":                      strings.TrimSpace(string(goroot)),
			"bin/busybox":                       busybox,
			"etc/ssl/certs/ca-certificates.crt": certs,
		},
		// Like the official image: root, a shell, Go on the PATH, GOPATH /go.
		dockerfile: `FROM scratch
COPY rootfs/ /
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN mkdir -p /tmp /root /go /usr/bin && chmod 1777 /tmp && ln -s /bin/env /usr/bin/env
ENV PATH=/go/bin:/usr/local/go/bin:/bin HOME=/root GOPATH=/go GOTOOLCHAIN=local
WORKDIR /go
`,
	}, {
		tag:   "strongroom-standin/mongo:ferretdb",
		files: map[string]string{"ferretdb": bins["ferretdb"], "tmp/.keep": os.DevNull, "data/db/.keep": os.DevNull},
		// The official image's user (999) and volume (/data/db).
		dockerfile: `FROM scratch
COPY --chown=999:999 rootfs/ /
USER 999:999
VOLUME /data/db
EXPOSE 27017
ENTRYPOINT ["/ferretdb", "-listen", "0.0.0.0:27017", "-dir", "/data/db"]
`,
	}, {
		tag: "strongroom-standin/vault:1.21.0",
		files: map[string]string{"bin/vault": bins["vault"], "etc/ssl/certs/ca-certificates.crt": certs,
			"tmp/.keep": os.DevNull, "vault/file/.keep": os.DevNull, "vault/config/.keep": os.DevNull, "vault/logs/.keep": os.DevNull},
		// The official image's user (vault, 100:1000), directories and
		// default command; its entrypoint's setcap and su-exec steps are
		// not needed by a process that starts as that user.
		dockerfile: `FROM scratch
COPY --chown=100:1000 rootfs/ /
ENV PATH=/bin
USER 100:1000
VOLUME /vault/file /vault/logs
EXPOSE 8200
ENTRYPOINT ["vault"]
CMD ["server", "-dev"]
`,
	}, {
		tag:   "strongroom-standin/mailpit:v1.33.1",
		files: map[string]string{"mailpit": bins["mailpit"], "etc/ssl/certs/ca-certificates.crt": certs, "tmp/.keep": os.DevNull},
		dockerfile: `FROM scratch
COPY --chown=65534:65534 rootfs/ /
USER 65534:65534
EXPOSE 1025 8025
ENTRYPOINT ["/mailpit"]
`,
	}}
	var images []image
	for _, im := range all {
		if want(im.tag) {
			images = append(images, im)
		}
	}
	return images, nil
}

// build makes the image unless one with the same inputs exists.
func build(im image) error {
	h := sha256.New()
	io.WriteString(h, im.dockerfile)
	for _, dst := range sortedKeys(im.files) {
		if err := hashPath(h, dst, im.files[dst]); err != nil {
			return err
		}
	}
	sum := hex.EncodeToString(h.Sum(nil))[:16]
	have, _ := exec.Command("docker", "image", "inspect", "-f", `{{index .Config.Labels "org.strongroom.inputs"}}`, im.tag).Output()
	if strings.TrimSpace(string(have)) == sum {
		fmt.Println(im.tag, "is up to date")
		return nil
	}
	dir, err := os.MkdirTemp("", "standin-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for dst, src := range im.files {
		if err := copyPath(filepath.Join(dir, "rootfs", dst), src); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(im.dockerfile), 0o644); err != nil {
		return err
	}
	fmt.Println("building", im.tag)
	cmd := exec.Command("docker", "build", "-q", "--label", "org.strongroom.inputs="+sum, "-t", im.tag, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("docker build %s: %w", im.tag, err)
	}
	return nil
}
