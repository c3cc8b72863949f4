package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"time"

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
	r     *strongroom.Record
	quota strongroom.Quota
	done  chan error
}

func (db *DB) startWriter() {
	ch := make(chan createReq)
	db.creates = ch
	db.writerDone = make(chan struct{})
	go func() {
		defer close(db.writerDone)
		for req := range ch {
			// Let the handlers that are ready to queue a record do so
			// before the batch is cut: with one P (a one-core machine)
			// they cannot run while this goroutine holds it, and every
			// commit would carry one record.
			runtime.Gosched()
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

// CreateRecord inserts an encrypted record, durably, in the next group
// commit, if it fits the user's quota. The one writer checks the quota in
// the transaction that inserts, so parallel creates cannot overshoot it.
func (db *DB) CreateRecord(ctx context.Context, r *strongroom.Record, q strongroom.Quota) error {
	req := createReq{r: r, quota: q, done: make(chan error, 1)}
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

// GroupCommitStats says how many group commits ran and how many records
// they made durable: records per commit is the batching the fsyncs got.
type GroupCommitStats struct {
	Commits uint64 `json:"commits"`
	Records uint64 `json:"records"`
}

// GroupCommits returns the counters so far.
func (db *DB) GroupCommits() GroupCommitStats {
	return GroupCommitStats{Commits: db.commits.Load(), Records: db.committed.Load()}
}

// ObserveCommits has f told of each group commit from now on: how many
// records it made durable and how long its transaction took, fsync
// included (for metrics: the records per commit are the batching the
// fsyncs get). f runs on the one writer: it must be quick. nil stops it.
func (db *DB) ObserveCommits(f func(records int, d time.Duration)) {
	if f == nil {
		db.onCommit.Store(nil)
		return
	}
	db.onCommit.Store(&f)
}

// commitBatch inserts the batch in one transaction. Inserts do not fail in
// normal operation, so the batch first goes in without savepoints; if an
// insert fails, that transaction is rolled back and the batch is done again
// with a savepoint around each insert, so the failing record is refused
// alone.
func (db *DB) commitBatch(batch []createReq) {
	start := time.Now()
	errs, err := db.insertBatch(batch, false)
	if err == errRetryIsolated {
		errs, err = db.insertBatch(batch, true)
	}
	if f := db.onCommit.Load(); f != nil && err == nil {
		kept := 0
		for _, e := range errs {
			if e == nil {
				kept++
			}
		}
		(*f)(kept, time.Since(start))
	}
	for i, req := range batch {
		if err != nil {
			req.done <- mapErr("create record", err)
		} else {
			req.done <- mapErr("create record", errs[i])
		}
	}
}

var errRetryIsolated = errors.New("sqlite: an insert failed; retry the batch record by record")

// insertBatch runs one transaction. Without isolate, the first failing
// insert rolls it back and returns errRetryIsolated; with isolate, each
// insert runs in a savepoint and its error is returned in errs. err is an
// error for the whole batch.
func (db *DB) insertBatch(batch []createReq, isolate bool) (errs []error, err error) {
	ctx := context.Background()
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	ins := tx.StmtContext(ctx, db.insertRecord)
	usage := tx.StmtContext(ctx, db.usage)
	exec := func(q string) error { _, err := tx.ExecContext(ctx, q); return err }
	errs = make([]error, len(batch))
	for i, req := range batch {
		r := req.r
		if req.quota != (strongroom.Quota{}) {
			// The transaction sees the batch's earlier inserts (the
			// triggers count them), so the batch as a whole fits too.
			var u strongroom.Usage
			uerr := usage.QueryRowContext(ctx, r.UserID).Scan(&u.Records, &u.Bytes)
			if uerr != nil && !errors.Is(uerr, sql.ErrNoRows) {
				return nil, uerr
			}
			if qerr := req.quota.Check(u, 1, int64(len(r.EncryptedValue))); qerr != nil {
				errs[i] = qerr
				continue
			}
		}
		if isolate {
			if err := exec("SAVEPOINT rec"); err != nil {
				return nil, err
			}
		}
		res, ierr := ins.ExecContext(ctx, r.ID, r.UserID, r.DataType, r.EncryptedValue, r.CreatedAt.UnixMilli(), r.UpdatedAt.UnixMilli())
		switch {
		case ierr != nil && !isolate:
			return nil, errRetryIsolated
		case ierr != nil:
			errs[i] = ierr
			if err := exec("ROLLBACK TO rec"); err != nil {
				return nil, fmt.Errorf("%w (rollback: %v)", ierr, err)
			}
		default:
			if n, err := res.RowsAffected(); err != nil {
				return nil, err
			} else if n == 0 { // no such user, or one being deleted
				errs[i] = notFound("user")
			}
		}
		if isolate {
			if err := exec("RELEASE rec"); err != nil {
				return nil, err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	kept := 0
	for _, e := range errs {
		if e == nil {
			kept++
		}
	}
	db.commits.Add(1)
	db.committed.Add(uint64(kept))
	return errs, nil
}
