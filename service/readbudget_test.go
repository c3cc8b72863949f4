package service_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/service"
)

// readCounting counts the store's reads of records: what a read or a
// list costs before its values are sent.
type readCounting struct {
	strongroom.Store
	reads atomic.Int64
}

func (c *readCounting) Record(ctx context.Context, userID, id string) (*strongroom.Record, error) {
	c.reads.Add(1)
	return c.Store.Record(ctx, userID, id)
}

func (c *readCounting) Records(ctx context.Context, userID string, after strongroom.RecordCursor, limit int) ([]*strongroom.Record, error) {
	c.reads.Add(1)
	return c.Store.Records(ctx, userID, after, limit)
}

func (c *readCounting) RecordCursors(ctx context.Context, userID string, after strongroom.RecordCursor, limit int) ([]strongroom.RecordCursor, error) {
	c.reads.Add(1)
	return c.Store.RecordCursors(ctx, userID, after, limit)
}

func (c *readCounting) RecordUsage(ctx context.Context, userID string) (strongroom.Usage, error) {
	c.reads.Add(1)
	return c.Store.RecordUsage(ctx, userID)
}

// signedIn registers name and returns the principal of a login's token.
func (e *env) signedIn(t *testing.T, name string) *service.Principal {
	t.Helper()
	ctx := context.Background()
	if err := e.svc.Register(ctx, "127.0.0.1", name, name+"@example.com", pw); err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.Login(ctx, "127.0.0.1", name, pw)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.svc.Authenticate(res.Token)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Reads one by one and lists share the account's budget of values (twice
// the record quota at once): reads by id spend it as lists do, a list
// sends no more values than it was charged for, however many records
// appear while it is sent, and a caller past the budget is refused before
// the store reads anything.
func TestReadsShareTheBudgetOfValues(t *testing.T) {
	var counting *readCounting
	e := newEnv(t, func(c *service.Config) {
		c.MaxRecordsPerUser = 5 // a budget of 10 values at once
		counting = &readCounting{Store: c.Store}
		c.Store = counting
	})
	ctx := context.Background()
	p := e.signedIn(t, "reader")
	var ids []string
	for i := 0; i < 3; i++ {
		v, err := e.svc.CreateRecord(ctx, p, "card_number", fmt.Sprintf("41111111111111%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	// A whole list charged for 3 values sends 3, though 2 more records
	// are made before it is read.
	list, err := e.svc.Records(ctx, p, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := e.svc.CreateRecord(ctx, p, "card_number", fmt.Sprintf("42222222222222%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	sent := 0
	if err := list.Each(ctx, func(service.RecordView) error { sent++; return nil }); err != nil {
		t.Fatal(err)
	}
	if sent != 3 {
		t.Fatalf("a list charged for 3 values sent %d", sent)
	}
	// 7 values are left: reads by id take them one by one.
	for i := 0; i < 7; i++ {
		if _, err := e.svc.Record(ctx, p, ids[i%3]); err != nil {
			t.Fatalf("read %d within the budget: %v", i+1, err)
		}
	}
	before := counting.reads.Load()
	for _, read := range []func() error{
		func() error { _, err := e.svc.Record(ctx, p, ids[0]); return err },
		func() error { _, err := e.svc.Records(ctx, p, "", 0); return err },
		func() error { _, err := e.svc.Records(ctx, p, "", 2); return err },
		func() error { _, err := e.svc.Records(ctx, p, ids[0], 2); return err },
	} {
		var se *strongroom.Error
		if err := read(); !strongroom.IsKind(err, strongroom.KindLocked) || !errors.As(err, &se) || se.RetryAfter <= 0 {
			t.Fatalf("a read past the budget: %v; want refused with Retry-After", err)
		}
	}
	// Refused by this server's own count (or what the store last
	// refused), before any record is read from the store.
	if n := counting.reads.Load() - before; n != 0 {
		t.Fatalf("reads past the budget read the store %d times", n)
	}
}

// Writes are audit events too: creates, updates and deletes share a
// budget of their own (twice the record quota at once, as reads), so
// creating and deleting in a loop cannot fill the trail either.
func TestWritesHaveABudget(t *testing.T) {
	e := newEnv(t, func(c *service.Config) { c.MaxRecordsPerUser = 5 }) // 10 writes at once
	ctx := context.Background()
	p := e.signedIn(t, "writer")
	for i := 0; i < 5; i++ { // create and delete: 10 writes
		v, err := e.svc.CreateRecord(ctx, p, "card_number", "4111111111111111")
		if err != nil {
			t.Fatalf("write %d: %v", 2*i+1, err)
		}
		if err := e.svc.DeleteRecord(ctx, p, v.ID); err != nil {
			t.Fatalf("write %d: %v", 2*i+2, err)
		}
	}
	_, err := e.svc.CreateRecord(ctx, p, "card_number", "4111111111111111")
	var se *strongroom.Error
	if !strongroom.IsKind(err, strongroom.KindLocked) || !errors.As(err, &se) || se.RetryAfter <= 0 {
		t.Fatalf("an 11th write: %v; want refused with Retry-After", err)
	}
	// Reads have a budget of their own, untouched.
	if _, err := e.svc.Records(ctx, p, "", 0); err != nil {
		t.Fatalf("a list after the writes: %v", err)
	}
}
