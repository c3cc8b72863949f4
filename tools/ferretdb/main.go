// Command ferretdb runs FerretDB v1 (a MongoDB wire-protocol server on
// SQLite) for Strongroom's tests: a real MongoDB-protocol peer for the mongo
// store, built from Go modules because no MongoDB server can be installed
// from this project's registries. It prints "ready <mongodb URI>" on stdout
// once it accepts connections and runs until SIGINT or SIGTERM.
//
// Like the official mongo image, it requires authentication when
// MONGO_INITDB_ROOT_USERNAME and MONGO_INITDB_ROOT_PASSWORD (or their _FILE
// forms) are set, and creates that user in "admin" the first time (the
// Compose stack's stand-in for mongo; FerretDB is patched for it, see
// _overlay). The tests set neither.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "TCP address to listen on")
	dir := flag.String("dir", "", "directory for the SQLite files (required)")
	ping := flag.String("ping", "", "instead of serving: send the MongoDB ping command to this address and exit 0 if it answers ok (a container healthcheck)")
	flag.Parse()
	if *ping != "" {
		if err := pingMongo(*ping); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *dir == "" {
		log.Fatal("-dir is required")
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		log.Fatal(err)
	}
	auth, err := rootUser(os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Handler:   "sqlite",
		SQLiteURL: "file:" + abs + "/",
		Auth:      auth,
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := f.Run(ctx); err != nil {
			log.Print(err)
		}
	}()
	fmt.Println("ready", f.MongoDBURI())
	<-done
}
