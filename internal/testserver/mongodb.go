package testserver

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
)

var mongo struct {
	once sync.Once
	url  string
	proc *Process
	err  error
}

// MongoDBURL returns the URL of a MongoDB-protocol server for this test
// process: STRONGROOM_TEST_MONGODB_URL if set (a real mongod), otherwise a
// FerretDB built from tools/ferretdb and started on a free loopback port.
// Call StopMongoDB from TestMain after the tests.
func MongoDBURL(t testing.TB) string {
	t.Helper()
	mongo.once.Do(func() {
		if u := os.Getenv("STRONGROOM_TEST_MONGODB_URL"); u != "" {
			mongo.url = u
			return
		}
		bin, err := Build("ferretdb")
		if err != nil {
			mongo.err = err
			return
		}
		mongo.proc, mongo.err = Start(bin, "-listen", "127.0.0.1:0")
		if mongo.err == nil {
			mongo.url = mongo.proc.Ready
		}
	})
	if mongo.err != nil {
		t.Fatalf("no MongoDB-protocol server for the test: %v", mongo.err)
	}
	return mongo.url
}

// StopMongoDB stops the server MongoDBURL started, if any.
func StopMongoDB() {
	if mongo.proc != nil {
		mongo.proc.Stop()
	}
}

// DatabaseName returns a fresh database name, so tests sharing a server do
// not see each other's data.
func DatabaseName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s_%s", prefix, hex.EncodeToString(b[:]))
}
