// Command mailpit is Mailpit (github.com/axllent/mailpit), the mail catcher
// with an HTTP API on 8025 and SMTP on 1025, built from its Go module as a
// stand-in for the official axllent/mailpit Docker image where no image can
// be pulled. It runs Mailpit's own command, as Mailpit's main package does,
// so flags, the MP_* environment, "mailpit readyz" and, when the binary's
// name contains "send", the sendmail mode all behave as in the official
// binary.
//
// Two differences from the official build, both from what the Go module
// holds: the web UI's compiled assets (dist/app.js, dist/app.css) are built
// by npm in Mailpit's release process and are not in the module, so the UI
// page loads without its script (the REST API, /readyz, SMTP and the API's
// own docs page at /api/v1/ all work); and Mailpit's own MIT license text,
// which its main package embeds into an internal package for the UI's
// licenses page, is left empty.
package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/axllent/mailpit/cmd"
	"github.com/axllent/mailpit/config"
	sendmail "github.com/axllent/mailpit/sendmail/cmd"
)

func main() {
	// The official binary is linked with -X .../config.Version=vX.Y.Z; take
	// the version from the module instead, unless the build set one.
	if config.Version == "dev" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, d := range bi.Deps {
				if d.Path == "github.com/axllent/mailpit" {
					config.Version = d.Version
				}
			}
		}
	}
	if strings.Contains(strings.ToLower(filepath.Base(os.Args[0])), "send") {
		sendmail.Run()
	} else {
		cmd.Execute()
	}
}
