package vault_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom/secret"
	"github.com/strongroom/strongroom/vault"
)

// The init file's format is what a deployment's volume holds across
// upgrades: pinned, and read back.
func TestInitKeysFile(t *testing.T) {
	k := vault.InitKeys{UnsealKey: secret.New("a2V5LXNoYXJl"), RootToken: secret.New("hvs.root")}
	b := k.MarshalFile()
	var got map[string]string
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["unseal_key_b64"] != "a2V5LXNoYXJl" || got["root_token"] != "hvs.root" {
		t.Fatalf("init file %s", b)
	}
	back, err := vault.ParseInitKeys(b)
	if err != nil || !back.UnsealKey.Equal(k.UnsealKey) || !back.RootToken.Equal(k.RootToken) {
		t.Fatalf("read back: %v", err)
	}

	for name, bad := range map[string]string{
		"empty":          "",
		"truncated":      `{"unseal_key_b64": "s3cr#t-a2V5`,
		"not an object":  `["s3cr#t"]`,
		"no token":       `{"unseal_key_b64": "a2V5"}`,
		"empty key":      `{"unseal_key_b64": "", "root_token": "s3cr#t"}`,
		"key not base64": `{"unseal_key_b64": "s3cr#t", "root_token": "s3cr#t"}`,
	} {
		if _, err := vault.ParseInitKeys([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "s3cr#t") {
			t.Errorf("%s: the error quotes the file: %v", name, err)
		}
	}
}

// While Vault is unreachable, the watch says so once a minute at most, not
// at every check, and keeps going until its context ends.
func TestKeepUnsealedLogsOutageOnce(t *testing.T) {
	sys, err := vault.NewSys(vault.Config{Address: "http://127.0.0.1:1", Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	sys.KeepUnsealed(ctx, secret.New("a2V5"), 10*time.Millisecond, slog.New(slog.NewTextHandler(&log, nil)))
	if ctx.Err() == nil {
		t.Fatal("returned before its context ended")
	}
	if n := strings.Count(log.String(), "level=WARN"); n != 1 {
		t.Fatalf("%d lines about the outage in 500 ms of checks every 10 ms, want 1:\n%s", n, log.String())
	}
}
