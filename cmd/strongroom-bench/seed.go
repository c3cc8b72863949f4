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

// wrapFunc wraps the data keys deks[i] of the users ids[i], as the server's
// key manager would at registration.
type wrapFunc func(ctx context.Context, ids []string, deks [][]byte) ([]strongroom.WrappedKey, error)

// seedChunk is how many users seed makes data keys for at once, and wraps
// in one wrapFunc call.
const seedChunk = 1000

// seed writes n users with r records each straight into a new data dir
// (one transaction, no fsync per row: seeding is not what is measured),
// with real wrapped data keys and real ciphertexts, and mints a token for
// each of the first withTokens users. The data keys are wrapped by the
// data dir's local keyring, made if missing, as the embedded default
// server does.
func seed(ctx context.Context, dataDir string, n, r, withTokens int) ([]benchUser, error) {
	kms, err := localkms.Open(filepath.Join(dataDir, localkms.FileName))
	if err != nil {
		return nil, err
	}
	return seedWith(ctx, dataDir, n, r, withTokens, func(ctx context.Context, ids []string, deks [][]byte) ([]strongroom.WrappedKey, error) {
		out := make([]strongroom.WrappedKey, len(ids))
		for i := range ids {
			var err error
			if out[i], err = kms.Wrap(ctx, ids[i], deks[i]); err != nil {
				return nil, err
			}
		}
		return out, nil
	})
}

// seedWith is seed with the data keys wrapped by wrap, seedChunk users at
// a time.
func seedWith(ctx context.Context, dataDir string, n, r, withTokens int, wrap wrapFunc) ([]benchUser, error) {
	dbPath := filepath.Join(dataDir, sqlite.FileName)
	if _, err := os.Stat(dbPath); errors.Is(err, fs.ErrNotExist) {
		db, err := sqlite.Open(ctx, dbPath) // creates the schema (makeSchema usually has)
		if err != nil {
			return nil, err
		}
		db.Close()
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
	for first := 0; first < n; first += seedChunk {
		m := min(seedChunk, n-first)
		ids, deks, keys := make([]string, m), make([][]byte, m), make([]*envelope.Key, m)
		for j := range m {
			ids[j] = strongroom.NewID(now)
			if keys[j], err = envelope.NewKey(rand.Reader); err != nil {
				return nil, err
			}
			deks[j] = keys[j].Bytes()
		}
		wrapped, err := wrap(ctx, ids, deks)
		for _, b := range deks {
			clear(b)
		}
		if err != nil {
			return nil, err
		}
		for j := range m {
			i := first + j
			u := benchUser{ID: ids[j], Name: fmt.Sprintf("bench%06d", i)}
			if _, err := insUser.ExecContext(ctx, u.ID, u.Name, u.Name+"@example.com", hash, salt, now.UnixMilli(), i == 0); err != nil { // the first account rotates the master key
				return nil, err
			}
			if _, err := insKey.ExecContext(ctx, u.ID, wrapped[j].Ciphertext, wrapped[j].Version, now.UnixMilli()); err != nil {
				return nil, err
			}
			for k := 0; k < r; k++ {
				id := strongroom.NewID(now)
				enc, err := envelope.SealRecord(keys[j], rand.Reader, envelope.RecordAAD(u.ID, id, "card_number"), []byte(fmt.Sprintf("4%015d", i*r+k)))
				if err != nil {
					return nil, err
				}
				if _, err := insRec.ExecContext(ctx, id, u.ID, "card_number", enc, now.UnixMilli()+int64(k), now.UnixMilli()); err != nil {
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
	}
	return users, tx.Commit()
}
