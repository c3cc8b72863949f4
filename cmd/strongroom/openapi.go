package main

import (
	"encoding/json"
	"flag"
	"io"
	"log/slog"

	"github.com/strongroom/strongroom/api"
)

// printOpenAPI writes the API's OpenAPI document, as the server serves it
// at /openapi.json (or, with -3.0, /openapi-3.0.json), without starting
// anything: for client generators and the test command.
func printOpenAPI(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("openapi", flag.ContinueOnError)
	v30 := fs.Bool("3.0", false, "print the OpenAPI 3.0 form, for tools that do not read 3.1")
	if err := fs.Parse(args); err != nil {
		return err
	}
	srv := api.New(nil, slog.New(slog.DiscardHandler), nil)
	var b []byte
	var err error
	if *v30 {
		b, err = srv.OpenAPI30()
	} else {
		b, err = json.Marshal(srv.OpenAPI())
	}
	if err != nil {
		return err
	}
	var pretty any
	if err := json.Unmarshal(b, &pretty); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(pretty)
}
