package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/envelope"
	"github.com/strongroom/strongroom/localkms"
	"github.com/strongroom/strongroom/password"
	"github.com/strongroom/strongroom/sqlite"
	"github.com/strongroom/strongroom/token"
)

// Secrets the harness gives the server, so it can seed hashes and mint
// tokens the server accepts.
const (
	benchJWTSecret = "bench-jwt-secret-0123456789abcdef0123456789"
	benchPepper    = "bench-pepper-0123456789"
	benchPassword  = "Bench!pass1"
)

type benchUser struct {
	ID, Name, Token string
	Records         []string
}

// seed writes n users with r records each straight into a new data dir
// (one transaction, no fsync per row: seeding is not what is measured),
// with real wrapped data keys and real ciphertexts, and mints a token for
// each of the first withTokens users.
func seed(ctx context.Context, dataDir string, n, r, withTokens int) ([]benchUser, error) {
	dbPath := filepath.Join(dataDir, sqlite.FileName)
	if _, err := os.Stat(dbPath); errors.Is(err, fs.ErrNotExist) {
		db, err := sqlite.Open(ctx, dbPath) // creates the schema (makeSchema usually has)
		if err != nil {
			return nil, err
		}
		db.Close()
	}
	kms, err := localkms.Open(filepath.Join(dataDir, localkms.FileName))
	if err != nil {
		return nil, err
	}
	hasher, err := password.New([]byte(benchPepper), password.DefaultCost)
	if err != nil {
		return nil, err
	}
	// One real bcrypt-12 hash, with a fixed salt, shared by every user.
	hash, salt, err := hasher.Hash(ctx, bytes.NewReader(make([]byte, 32)), benchPassword)
	if err != nil {
		return nil, err
	}
	tokens, err := token.NewIssuer([]byte(benchJWTSecret), 4*time.Hour, nil)
	if err != nil {
		return nil, err
	}
	raw, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=synchronous(OFF)&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	insUser, _ := tx.PrepareContext(ctx, `INSERT INTO users (id, username, email, hashed_password, salt, created_at, is_admin) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	insKey, _ := tx.PrepareContext(ctx, `INSERT INTO user_keys (user_id, wrapped_dek, kek_version, updated_at) VALUES (?, ?, ?, ?)`)
	insRec, _ := tx.PrepareContext(ctx, `INSERT INTO sensitive_data (id, user_id, data_type, encrypted_value, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`)
	now := time.Now()
	users := make([]benchUser, 0, n)
	for i := 0; i < n; i++ {
		u := benchUser{ID: strongroom.NewID(now), Name: fmt.Sprintf("bench%06d", i)}
		dek, err := envelope.NewKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		b := dek.Bytes()
		w, err := kms.Wrap(ctx, u.ID, b)
		clear(b)
		if err != nil {
			return nil, err
		}
		if _, err := insUser.ExecContext(ctx, u.ID, u.Name, u.Name+"@example.com", hash, salt, now.UnixMilli(), i == 0); err != nil { // the first account rotates the master key
			return nil, err
		}
		if _, err := insKey.ExecContext(ctx, u.ID, w.Ciphertext, w.Version, now.UnixMilli()); err != nil {
			return nil, err
		}
		for j := 0; j < r; j++ {
			id := strongroom.NewID(now)
			enc, err := envelope.SealRecord(dek, rand.Reader, envelope.RecordAAD(u.ID, id, "card_number"), []byte(fmt.Sprintf("4%015d", i*r+j)))
			if err != nil {
				return nil, err
			}
			if _, err := insRec.ExecContext(ctx, id, u.ID, "card_number", enc, now.UnixMilli()+int64(j), now.UnixMilli()); err != nil {
				return nil, err
			}
			u.Records = append(u.Records, id)
		}
		if i < withTokens {
			if u.Token, _, err = tokens.Issue(u.ID); err != nil {
				return nil, err
			}
		}
		users = append(users, u)
	}
	return users, tx.Commit()
}
