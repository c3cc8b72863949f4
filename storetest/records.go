package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
)

func testRecords(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	alice, bob := MustCreateUser(t, s, "alice"), MustCreateUser(t, s, "bob")
	var ids []string
	for i := 0; i < 3; i++ {
		r := &strongroom.Record{ID: strongroom.NewID(t0), UserID: alice.ID, DataType: "card_number",
			EncryptedValue: fmt.Sprintf("01%02x", i), CreatedAt: t0.Add(time.Duration(i) * time.Second), UpdatedAt: t0}
		if err := s.CreateRecord(ctx, r, strongroom.Quota{}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	list, err := s.Records(ctx, alice.ID, strongroom.RecordCursor{}, 1000)
	if err != nil || len(list) != 3 {
		t.Fatalf("Records = %d, %v", len(list), err)
	}
	for i, r := range list {
		if r.ID != ids[i] || r.EncryptedValue != fmt.Sprintf("01%02x", i) {
			t.Fatalf("record %d = %+v, want id %s in creation order", i, r, ids[i])
		}
	}
	if list, _ := s.Records(ctx, bob.ID, strongroom.RecordCursor{}, 1000); len(list) != 0 {
		t.Fatalf("bob sees %d records", len(list))
	}
	_, err = s.Record(ctx, bob.ID, ids[0])
	wantKind(t, err, strongroom.KindNotFound, "other user's record")
	upd := &strongroom.Record{ID: ids[0], UserID: bob.ID, DataType: "x", EncryptedValue: "ff", UpdatedAt: t0}
	wantKind(t, s.UpdateRecord(ctx, upd, strongroom.Quota{}), strongroom.KindNotFound, "update other user's record")
	wantKind(t, s.DeleteRecord(ctx, bob.ID, ids[0]), strongroom.KindNotFound, "delete other user's record")

	upd.UserID = alice.ID
	upd.UpdatedAt = t0.Add(time.Hour)
	if err := s.UpdateRecord(ctx, upd, strongroom.Quota{}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Record(ctx, alice.ID, ids[0])
	if err != nil || got.DataType != "x" || got.EncryptedValue != "ff" || !got.UpdatedAt.Equal(t0.Add(time.Hour)) || !got.CreatedAt.Equal(t0) {
		t.Fatalf("after update: %+v, %v", got, err)
	}
	if err := s.DeleteRecord(ctx, alice.ID, ids[0]); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.DeleteRecord(ctx, alice.ID, ids[0]), strongroom.KindNotFound, "second delete")
	_, err = s.Record(ctx, alice.ID, ids[0])
	wantKind(t, err, strongroom.KindNotFound, "deleted record")
}

// testConcurrentCreates: many records created at once all land (the SQLite
// store commits them in groups), and one that collides fails alone.
func testConcurrentCreates(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u := MustCreateUser(t, s, "burst")
	dup := strongroom.NewID(t0)
	var wg sync.WaitGroup
	var conflicts, failures atomic.Int32
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := strongroom.NewID(t0)
			if i < 2 {
				id = dup // two creates with one id: exactly one must fail
			}
			err := s.CreateRecord(ctx, &strongroom.Record{ID: id, UserID: u.ID, DataType: "x", EncryptedValue: "01", CreatedAt: t0, UpdatedAt: t0}, strongroom.Quota{})
			switch {
			case strongroom.IsKind(err, strongroom.KindConflict):
				conflicts.Add(1)
			case err != nil:
				failures.Add(1)
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if conflicts.Load() != 1 || failures.Load() != 0 {
		t.Fatalf("%d conflicts, %d other failures; want 1 and 0", conflicts.Load(), failures.Load())
	}
	if list, err := s.Records(ctx, u.ID, strongroom.RecordCursor{}, 1000); err != nil || len(list) != 99 {
		t.Fatalf("%d records stored, want 99 (%v)", len(list), err)
	}
}
