package sqlite

import (
	"context"
	"errors"
	"fmt"

	"github.com/strongroom/strongroom"
)

// Group commit for new records: concurrent CreateRecord calls are queued
// and one writer goroutine inserts whatever is waiting (up to maxBatch) in
// a single transaction, so one fsync makes a whole batch durable. Each
// caller returns only after the commit that holds its record, so a 200 is
// still answered only once the record is on disk. A failing insert is
// rolled back alone, through a savepoint, and the rest of the batch stands.

const maxBatch = 256

type createReq struct {
	r    *strongroom.Record
	done chan error
}

func (db *DB) startWriter() {
	ch := make(chan createReq)
	db.creates = ch
	db.writerDone = make(chan struct{})
	go func() {
		defer close(db.writerDone)
		for req := range ch {
			batch := []createReq{req}
		fill:
			for len(batch) < maxBatch {
				select {
				case r, ok := <-ch:
					if !ok {
						break fill
					}
					batch = append(batch, r)
				default:
					break fill
				}
			}
			db.commitBatch(batch)
		}
	}()
}

func (db *DB) stopWriter() {
	if db.creates != nil {
		db.closing.Lock()
		close(db.creates)
		db.creates = nil
		db.closing.Unlock()
		<-db.writerDone
	}
}

// CreateRecord inserts an encrypted record, durably, in the next group commit.
func (db *DB) CreateRecord(ctx context.Context, r *strongroom.Record) error {
	req := createReq{r: r, done: make(chan error, 1)}
	db.closing.RLock()
	if db.creates == nil {
		db.closing.RUnlock()
		return strongroom.Unavailable("store unavailable", errors.New("sqlite: closed"))
	}
	select {
	case db.creates <- req:
	case <-ctx.Done():
		db.closing.RUnlock()
		return mapErr("create record", ctx.Err())
	}
	db.closing.RUnlock()
	// Once queued, wait for the outcome even if ctx ends: the caller must
	// not be told "failed" about a record that was committed.
	return <-req.done
}

func (db *DB) commitBatch(batch []createReq) {
	ctx := context.Background()
	fail := func(err error) {
		for _, req := range batch {
			req.done <- mapErr("create record", err)
		}
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		fail(err)
		return
	}
	errs := make([]error, len(batch))
	for i, req := range batch {
		r := req.r
		if _, err := tx.ExecContext(ctx, "SAVEPOINT rec"); err != nil {
			_ = tx.Rollback()
			fail(err)
			return
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sensitive_data (id, user_id, data_type, encrypted_value, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, r.ID, r.UserID, r.DataType, r.EncryptedValue, r.CreatedAt.UnixMilli(), r.UpdatedAt.UnixMilli())
		if err != nil {
			errs[i] = err
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO rec"); rerr != nil {
				_ = tx.Rollback()
				fail(fmt.Errorf("%w (rollback: %v)", err, rerr))
				return
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE rec"); err != nil {
			_ = tx.Rollback()
			fail(err)
			return
		}
	}
	if err := tx.Commit(); err != nil {
		fail(err)
		return
	}
	for i, req := range batch {
		req.done <- mapErr("create record", errs[i])
	}
}
