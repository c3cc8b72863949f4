// Command buildtools builds the test servers under tools/ (FerretDB, Vault,
// mailpit) into the cache, so the first test that needs one does not spend
// its time compiling. With names as arguments it builds only those.
package main

import (
	"fmt"
	"os"

	"github.com/strongroom/strongroom/internal/testserver"
)

func main() {
	names := os.Args[1:]
	if len(names) == 0 {
		names = []string{"ferretdb", "vault"}
	}
	for _, name := range names {
		bin, err := testserver.Build(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(name+":", bin)
	}
}
