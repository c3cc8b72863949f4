// Command buildtools builds the test servers under tools/ (FerretDB, Vault)
// into the cache, so the first test that needs one does not spend its time
// compiling.
package main

import (
	"fmt"
	"os"

	"github.com/strongroom/strongroom/internal/testserver"
)

func main() {
	for _, name := range []string{"ferretdb", "vault"} {
		bin, err := testserver.Build(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(name+":", bin)
	}
}
