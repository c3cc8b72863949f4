package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
)

// newRecord returns a record of u made at t with an encrypted value of
// size bytes.
func newRecord(u *strongroom.User, t time.Time, size int) *strongroom.Record {
	return &strongroom.Record{ID: strongroom.NewID(t), UserID: u.ID, DataType: "note",
		EncryptedValue: strings.Repeat("a", size), CreatedAt: t, UpdatedAt: t}
}

func mustCreate(t *testing.T, s strongroom.Store, r *strongroom.Record) {
	t.Helper()
	if err := s.CreateRecord(context.Background(), r, strongroom.Quota{}); err != nil {
		t.Fatal(err)
	}
}

func wantUsage(t *testing.T, s strongroom.Store, userID string, records, bytes int64, what string) {
	t.Helper()
	got, err := s.RecordUsage(context.Background(), userID)
	if err != nil || got != (strongroom.Usage{Records: records, Bytes: bytes}) {
		t.Fatalf("%s: usage %+v, %v; want %d records, %d bytes", what, got, err, records, bytes)
	}
}

// testRecordPages: pages follow list order (created time, then id, also
// among records made in the same millisecond), a cursor continues right
// after its record even once that record is deleted, RecordCursors names
// the same places, and pages never cross to another user's records.
func testRecordPages(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u, other := MustCreateUser(t, s, "pager"), MustCreateUser(t, s, "other")
	var want []string
	// Created out of order: 3 records in one millisecond, others around it.
	for _, sec := range []int{5, 1, 3, 3, 3, 0, 9} {
		r := newRecord(u, t0.Add(time.Duration(sec)*time.Second), 10)
		mustCreate(t, s, r)
		mustCreate(t, s, newRecord(other, t0.Add(time.Duration(sec)*time.Second), 10))
		want = append(want, fmt.Sprintf("%02d/%s", sec, r.ID))
	}
	slices.Sort(want) // created time, then id: the list order
	page := func(after strongroom.RecordCursor, limit int) []string {
		t.Helper()
		rs, err := s.Records(ctx, u.ID, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := s.RecordCursors(ctx, u.ID, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, r := range rs {
			if r.UserID != u.ID {
				t.Fatalf("a page holds another user's record")
			}
			if i >= len(cs) || cs[i] != r.Cursor() {
				t.Fatalf("RecordCursors = %v, Records' places differ at %d", cs, i)
			}
			got = append(got, fmt.Sprintf("%02d/%s", int(r.CreatedAt.Sub(t0)/time.Second), r.ID))
		}
		if len(cs) != len(rs) {
			t.Fatalf("RecordCursors gave %d places, Records %d records", len(cs), len(rs))
		}
		return got
	}
	if got := page(strongroom.RecordCursor{}, 100); !slices.Equal(got, want) {
		t.Fatalf("whole list:\n%v\nwant\n%v", got, want)
	}
	var walked []string
	after := strongroom.RecordCursor{}
	for n := 0; n < 10; n++ {
		rs, err := s.Records(ctx, u.ID, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) > 3 {
			t.Fatalf("a page of limit 3 holds %d records", len(rs))
		}
		if len(rs) == 0 {
			break
		}
		for _, r := range rs {
			walked = append(walked, fmt.Sprintf("%02d/%s", int(r.CreatedAt.Sub(t0)/time.Second), r.ID))
		}
		after = rs[len(rs)-1].Cursor()
	}
	if !slices.Equal(walked, want) {
		t.Fatalf("pages of 3:\n%v\nwant\n%v", walked, want)
	}
	// The cursor of a deleted record still continues right after it.
	all, _ := s.Records(ctx, u.ID, strongroom.RecordCursor{}, 100)
	gone := all[3]
	if err := s.DeleteRecord(ctx, u.ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	if got := page(gone.Cursor(), 100); !slices.Equal(got, want[4:]) {
		t.Fatalf("after a deleted record: %v, want %v", got, want[4:])
	}
	if got := page(all[len(all)-1].Cursor(), 100); len(got) != 0 {
		t.Fatalf("after the last record: %v", got)
	}
}

// testRecordUsage: the count and the bytes follow creates, updates and
// deletes, per user.
func testRecordUsage(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u, other := MustCreateUser(t, s, "counted"), MustCreateUser(t, s, "bystander")
	wantUsage(t, s, u.ID, 0, 0, "no records")
	a, b := newRecord(u, t0, 100), newRecord(u, t0.Add(time.Second), 50)
	mustCreate(t, s, a)
	mustCreate(t, s, b)
	mustCreate(t, s, newRecord(other, t0, 7))
	wantUsage(t, s, u.ID, 2, 150, "two records")
	a.EncryptedValue = strings.Repeat("b", 130)
	if err := s.UpdateRecord(ctx, a, strongroom.Quota{}); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, s, u.ID, 2, 180, "after a growing update")
	b.EncryptedValue = "cc"
	if err := s.UpdateRecord(ctx, b, strongroom.Quota{}); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, s, u.ID, 2, 132, "after a shrinking update")
	if err := s.DeleteRecord(ctx, u.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, s, u.ID, 1, 2, "after a delete")
	wantUsage(t, s, other.ID, 1, 7, "another user")
	wantUsage(t, s, strongroom.NewID(t0), 0, 0, "an unknown user")
}

// testQuota: a create or update past the record or byte quota is refused
// as a conflict naming the quota, and changes nothing; shrinking and
// deleting always work, and free room.
func testQuota(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u := MustCreateUser(t, s, "quota")
	q := strongroom.Quota{MaxRecords: 3, MaxBytes: 100}
	var rs []*strongroom.Record
	for i := 0; i < 3; i++ {
		r := newRecord(u, t0.Add(time.Duration(i)*time.Second), 20)
		if err := s.CreateRecord(ctx, r, q); err != nil {
			t.Fatalf("create %d within the quota: %v", i, err)
		}
		rs = append(rs, r)
	}
	extra := newRecord(u, t0.Add(time.Minute), 1)
	err := s.CreateRecord(ctx, extra, q)
	wantKind(t, err, strongroom.KindConflict, "fourth record")
	if !strings.Contains(err.Error(), "record quota reached: 3 records per user") {
		t.Fatalf("record quota error %q", err)
	}
	_, err = s.Record(ctx, u.ID, extra.ID)
	wantKind(t, err, strongroom.KindNotFound, "the refused record")
	wantUsage(t, s, u.ID, 3, 60, "after a refused create")

	// Bytes: 60 of 100 used; growing one record by 41 is refused, by 40 fits.
	grown := *rs[0]
	grown.EncryptedValue = strings.Repeat("g", 61)
	err = s.UpdateRecord(ctx, &grown, q)
	wantKind(t, err, strongroom.KindConflict, "update past the byte quota")
	if !strings.Contains(err.Error(), "byte quota reached: 100 bytes") {
		t.Fatalf("byte quota error %q", err)
	}
	if got, _ := s.Record(ctx, u.ID, rs[0].ID); got.EncryptedValue != rs[0].EncryptedValue {
		t.Fatal("a refused update changed the record")
	}
	wantUsage(t, s, u.ID, 3, 60, "after a refused update")
	grown.EncryptedValue = strings.Repeat("g", 60)
	if err := s.UpdateRecord(ctx, &grown, q); err != nil {
		t.Fatalf("update to exactly the byte quota: %v", err)
	}
	wantUsage(t, s, u.ID, 3, 100, "at the byte quota")
	// Over a lowered quota, shrinking still works.
	shrunk := *rs[1]
	shrunk.EncryptedValue = "s"
	if err := s.UpdateRecord(ctx, &shrunk, strongroom.Quota{MaxBytes: 10}); err != nil {
		t.Fatalf("shrinking over the quota: %v", err)
	}
	wantKind(t, s.UpdateRecord(ctx, &strongroom.Record{ID: strongroom.NewID(t0), UserID: u.ID, DataType: "x", EncryptedValue: "ab", UpdatedAt: t0}, q),
		strongroom.KindNotFound, "update of a missing record")
	// A delete frees a place; the byte quota then still holds on create.
	if err := s.DeleteRecord(ctx, u.ID, rs[2].ID); err != nil {
		t.Fatal(err)
	}
	wantUsage(t, s, u.ID, 2, 61, "after a delete")
	err = s.CreateRecord(ctx, newRecord(u, t0.Add(time.Hour), 40), q)
	wantKind(t, err, strongroom.KindConflict, "a create past the byte quota")
	if !strings.Contains(err.Error(), "byte quota") {
		t.Fatalf("byte quota error %q", err)
	}
	if err := s.CreateRecord(ctx, newRecord(u, t0.Add(time.Hour), 39), q); err != nil {
		t.Fatalf("a create to exactly the byte quota: %v", err)
	}
	wantUsage(t, s, u.ID, 3, 100, "full again")
}

// testConcurrentQuota: 50 creates at once with 5 places left store exactly
// 5, and 50 with room for 10 values' bytes store exactly 10.
func testConcurrentQuota(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u := MustCreateUser(t, s, "crowd")
	q := strongroom.Quota{MaxRecords: 20}
	for i := 0; i < 15; i++ {
		mustCreate(t, s, newRecord(u, t0, 10))
	}
	won := parallel(50, func() bool {
		err := s.CreateRecord(ctx, newRecord(u, t0, 10), q)
		if err != nil && !strings.Contains(err.Error(), "record quota") {
			t.Errorf("create: %v", err)
		}
		return err == nil
	})
	if won != 5 {
		t.Fatalf("50 parallel creates with 5 places left: %d stored, want 5", won)
	}
	wantUsage(t, s, u.ID, 20, 200, "at the record quota")
	if list, _ := s.Records(ctx, u.ID, strongroom.RecordCursor{}, 1000); len(list) != 20 {
		t.Fatalf("%d records stored, want the quota, 20", len(list))
	}

	v := MustCreateUser(t, s, "heavy")
	bq := strongroom.Quota{MaxRecords: 1000, MaxBytes: 1000}
	won = parallel(50, func() bool {
		err := s.CreateRecord(ctx, newRecord(v, t0, 100), bq)
		if err != nil && !strings.Contains(err.Error(), "byte quota") {
			t.Errorf("create: %v", err)
		}
		return err == nil
	})
	if won != 10 {
		t.Fatalf("50 parallel creates of 100 bytes under a 1000-byte quota: %d stored, want 10", won)
	}
	wantUsage(t, s, v.ID, 10, 1000, "at the byte quota")
}
