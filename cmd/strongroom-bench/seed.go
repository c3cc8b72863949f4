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
	"strings"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/envelope"
	"github.com/strongroom/strongroom/localkms"
	"github.com/strongroom/strongroom/password"
	"github.com/strongroom/strongroom/sqlite"
)

// Secrets the harness gives the server, so it can seed hashes and mint
// tokens the server accepts.
const (
	benchJWTSecret = "bench-jwt-secret-0123456789abcdef0123456789"
	benchPepper    = "bench-pepper-0123456789"
	benchPassword  = "Bench!pass1"
)

// wrapFunc wraps the data keys deks[i] of the users ids[i], as the server's
// key manager would at registration.
type wrapFunc func(ctx context.Context, ids []string, deks [][]byte) ([]strongroom.WrappedKey, error)

// seedChunk is how many users seed makes data keys for at once, and wraps
// in one wrapFunc call.
const seedChunk = 1000

// localWrap is the wrapFunc of the data dir's local keyring, made if
// missing, as the embedded default server does.
func localWrap(dataDir string) (wrapFunc, error) {
	kms, err := localkms.Open(filepath.Join(dataDir, localkms.FileName))
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, ids []string, deks [][]byte) ([]strongroom.WrappedKey, error) {
		out := make([]strongroom.WrappedKey, len(ids))
		for i := range ids {
			var err error
			if out[i], err = kms.Wrap(ctx, ids[i], deks[i]); err != nil {
				return nil, err
			}
		}
		return out, nil
	}, nil
}

// seed writes n users with r records each straight into a new data dir,
// their data keys wrapped by the data dir's local keyring.
func seed(ctx context.Context, dataDir string, n, r int) (*population, error) {
	wrap, err := localWrap(dataDir)
	if err != nil {
		return nil, err
	}
	return seedWith(ctx, dataDir, n, r, wrap)
}

// seedWith writes n users with r records each straight into a new data
// dir, with real wrapped data keys (wrapped by wrap, seedChunk users at a
// time) and real ciphertexts. Seeding is not what is measured, so it is
// made fast: one transaction without fsync or journal, many rows per
// INSERT, and the keys made, wrapped and records sealed by a goroutine
// while the rows of the chunk before go in.
func seedWith(ctx context.Context, dataDir string, n, r int, wrap wrapFunc) (*population, error) {
	dbPath := filepath.Join(dataDir, sqlite.FileName)
	if err := ensureSchema(ctx, dbPath); err != nil {
		return nil, err
	}
	p, err := newPopulation(n, r)
	if err != nil {
		return nil, err
	}
	hash, salt, err := sharedHash(ctx)
	if err != nil {
		return nil, err
	}
	// No journal while seeding: the pages go to the file once, not to the
	// WAL and then the file. WAL again at the end, as the server made it.
	raw, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=synchronous(OFF)&_pragma=busy_timeout(10000)&_pragma=cache_size(-524288)&_pragma=temp_store(MEMORY)")
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	if _, err := raw.ExecContext(ctx, "PRAGMA journal_mode=OFF"); err != nil {
		return nil, err
	}
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the producer if a write fails
	w := newSeedWriter(tx, p, hash, salt)
	for c := range sealChunks(ctx, p, wrap) {
		if c.err != nil {
			return nil, c.err
		}
		if err := w.write(ctx, c); err != nil {
			return nil, err
		}
	}
	if err := w.flush(ctx); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	_, err = raw.ExecContext(ctx, "PRAGMA journal_mode=WAL")
	return p, err
}

// ensureSchema creates the database's schema if the file is missing
// (makeSchema usually has made it, with the server under test).
func ensureSchema(ctx context.Context, dbPath string) error {
	if _, err := os.Stat(dbPath); !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	return db.Close()
}

// sharedHash is one real bcrypt-12 hash of benchPassword, with a fixed
// salt, shared by every user.
func sharedHash(ctx context.Context) (hash, salt string, err error) {
	hasher, err := password.New([]byte(benchPepper), password.DefaultCost)
	if err != nil {
		return "", "", err
	}
	return hasher.Hash(ctx, bytes.NewReader(make([]byte, 32)), benchPassword)
}

// sealedChunk is the users first to first+len(wrapped)-1: their wrapped
// data keys and their records' encrypted values, r per user in order.
type sealedChunk struct {
	first   int
	wrapped []strongroom.WrappedKey
	values  []string
	err     error
}

// sealChunks makes the population's data keys, wraps them and seals the
// records, seedChunk users at a time, in order, on a goroutine of its own.
// A chunk with err set is the last.
func sealChunks(ctx context.Context, p *population, wrap wrapFunc) <-chan sealedChunk {
	out := make(chan sealedChunk, 2)
	go func() {
		defer close(out)
		for first := 0; first < p.n; first += seedChunk {
			c := sealChunk(ctx, p, first, min(seedChunk, p.n-first), wrap)
			select {
			case out <- c:
			case <-ctx.Done():
				return
			}
			if c.err != nil {
				return
			}
		}
	}()
	return out
}

func sealChunk(ctx context.Context, p *population, first, m int, wrap wrapFunc) sealedChunk {
	c := sealedChunk{first: first, values: make([]string, 0, m*p.records)}
	ids, deks, keys := make([]string, m), make([][]byte, m), make([]*envelope.Key, m)
	for j := range m {
		ids[j] = p.userID(first + j)
		if keys[j], c.err = envelope.NewKey(rand.Reader); c.err != nil {
			return c
		}
		deks[j] = keys[j].Bytes()
	}
	c.wrapped, c.err = wrap(ctx, ids, deks)
	for _, b := range deks {
		clear(b)
	}
	for j := 0; j < m && c.err == nil; j++ {
		i := first + j
		for k := range p.records {
			var v string
			v, c.err = envelope.SealRecord(keys[j], rand.Reader, envelope.RecordAAD(ids[j], p.recordID(i, k), "card_number"),
				[]byte(fmt.Sprintf("4%015d", i*p.records+k)))
			c.values = append(c.values, v)
		}
	}
	return c
}

// seedWriter inserts the sealed chunks' rows.
type seedWriter struct {
	p                 *population
	hash, salt        string
	users, keys, recs *bulkInsert
}

func newSeedWriter(tx *sql.Tx, p *population, hash, salt string) *seedWriter {
	return &seedWriter{p: p, hash: hash, salt: salt,
		users: newBulkInsert(tx, "users", "id", "username", "email", "hashed_password", "salt", "created_at", "is_admin"),
		keys:  newBulkInsert(tx, "user_keys", "user_id", "wrapped_dek", "kek_version", "updated_at"),
		recs:  newBulkInsert(tx, "sensitive_data", "id", "user_id", "data_type", "encrypted_value", "created_at", "updated_at")}
}

func (w *seedWriter) write(ctx context.Context, c sealedChunk) error {
	p, now := w.p, w.p.created.UnixMilli()
	for j, wk := range c.wrapped {
		i := c.first + j
		id, name := p.userID(i), p.name(i)
		// The first account is an administrator: it rotates the master key.
		if err := w.users.add(ctx, id, name, name+"@example.com", w.hash, w.salt, now, i == 0); err != nil {
			return err
		}
		if err := w.keys.add(ctx, id, wk.Ciphertext, wk.Version, now); err != nil {
			return err
		}
		for k := range p.records {
			if err := w.recs.add(ctx, p.recordID(i, k), id, "card_number", c.values[j*p.records+k], now+int64(k), now); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush writes the rows still held, users before what refers to them.
func (w *seedWriter) flush(ctx context.Context) error {
	for _, b := range []*bulkInsert{w.users, w.keys, w.recs} {
		if err := b.flush(ctx); err != nil {
			return err
		}
	}
	return nil
}

// bulkInsertRows is how many rows one INSERT of bulkInsert carries: one
// statement per row would spend most of the seeding in the driver.
const bulkInsertRows = 200

// bulkInsert inserts rows into a table bulkInsertRows at a time, with a
// statement prepared once per number of rows.
type bulkInsert struct {
	tx    *sql.Tx
	head  string // INSERT INTO table (cols) VALUES
	row   string // (?, ?, ...)
	cols  int
	args  []any
	stmts map[int]*sql.Stmt
}

func newBulkInsert(tx *sql.Tx, table string, cols ...string) *bulkInsert {
	return &bulkInsert{tx: tx, head: "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ",
		row: "(" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")", cols: len(cols), stmts: map[int]*sql.Stmt{}}
}

// add queues one row, and inserts the rows queued when there are enough.
func (b *bulkInsert) add(ctx context.Context, values ...any) error {
	b.args = append(b.args, values...)
	if len(b.args) < bulkInsertRows*b.cols {
		return nil
	}
	return b.flush(ctx)
}

// flush inserts the rows queued.
func (b *bulkInsert) flush(ctx context.Context) error {
	rows := len(b.args) / b.cols
	if rows == 0 {
		return nil
	}
	st, ok := b.stmts[rows]
	if !ok {
		var err error
		if st, err = b.tx.PrepareContext(ctx, b.head+strings.TrimSuffix(strings.Repeat(b.row+", ", rows), ", ")); err != nil {
			return err
		}
		b.stmts[rows] = st
	}
	_, err := st.ExecContext(ctx, b.args...)
	clear(b.args)
	b.args = b.args[:0]
	return err
}
