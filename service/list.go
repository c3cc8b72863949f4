package service

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/envelope"
)

// Quota defaults: 10 000 records and 16 MiB of stored values per user. A
// stored value is hex of the sealed value, about twice the plaintext plus
// 58 bytes, so 16 MiB holds about 180 000 card numbers or 500 values of the
// largest size (16 KiB): the record count is the limit for ordinary use,
// the bytes for large values.
const (
	DefaultMaxRecords = 10_000
	DefaultMaxBytes   = 16 << 20
)

// MaxPageSize is the largest limit of one page of a list.
const MaxPageSize = 1000

// listChunk is how many records a list reads from the store at a time: a
// list holds at most this many records in memory, whatever its length, and
// holds a store connection only while reading a chunk, never while a
// client is slow to take the answer.
const listChunk = 100

func (s *Service) quota() strongroom.Quota {
	return strongroom.Quota{MaxRecords: s.cfg.MaxRecordsPerUser, MaxBytes: s.cfg.MaxBytesPerUser}
}

// RecordList is a list of the caller's records, ready to be read with
// Each. Next is the id to pass as after for the next page, or "" when
// there is no next page (always "" for a whole list).
type RecordList struct {
	Next string

	s     *Service
	user  string
	dek   *envelope.Key // a copy of the caller's, zeroed when Each returns
	after strongroom.RecordCursor
	limit int // 0: the whole list
	// charged is how many values the list took from the account's budget:
	// it sends no more (records created while it is read may or may not
	// be in it).
	charged int
	// first is a whole list's first chunk, read to count the values it
	// will send; Each starts with it.
	first    []*strongroom.Record
	hasFirst bool
}

// Records prepares a list of the caller's records, oldest first: all of
// them (limit 0), or a page of at most limit (1 to MaxPageSize) after the
// record whose id is after ("" from the start). An after id that is not
// one of the caller's records (deleted meanwhile, or never theirs)
// continues from the start of the second its id was made in, so a client
// paging while deleting misses nothing, at worst sees a record again. The
// data key is fetched here, so a key manager that is down is an error
// before anything is sent.
func (s *Service) Records(ctx context.Context, p *Principal, after string, limit int) (*RecordList, error) {
	if limit < 0 || limit > MaxPageSize {
		return nil, strongroom.Invalid("limit", "limit must be 1 to %d", MaxPageSize)
	}
	// A caller whose budget of values is spent is refused before the
	// store is read.
	if refused, wait := s.valuesRead.Refuses(p.UserID, 1); refused {
		return nil, tooMany("records read", wait)
	}
	l := &RecordList{s: s, user: p.UserID, limit: limit}
	if after != "" {
		if err := validID(after); err != nil {
			return nil, strongroom.Invalid("after", "after must be a record id (24 hexadecimal characters)")
		}
		r, err := s.store.Record(ctx, p.UserID, after)
		switch {
		case err == nil:
			l.after = r.Cursor()
		case strongroom.IsKind(err, strongroom.KindNotFound):
			l.after = strongroom.RecordCursor{CreatedAt: idTime(after), ID: after}
		default:
			return nil, err
		}
	}
	// How many values the list will send, for the account's budget of
	// values read (a whole list: how many records the account has).
	var n int
	if limit > 0 {
		cs, err := s.store.RecordCursors(ctx, p.UserID, l.after, limit+1)
		if err != nil {
			return nil, err
		}
		if n = min(len(cs), limit); len(cs) > limit {
			l.Next = cs[limit-1].ID
		}
	} else {
		// The first chunk, which Each would read first anyway: if it is
		// the whole list, that is the count; otherwise the account's.
		first, err := s.store.Records(ctx, p.UserID, l.after, listChunk)
		if err != nil {
			return nil, err
		}
		l.first, l.hasFirst, n = first, true, len(first)
		if n == listChunk {
			u, err := s.store.RecordUsage(ctx, p.UserID)
			if err != nil {
				return nil, err
			}
			n = max(n, int(u.Records))
		}
	}
	if n > 0 {
		if err := s.limitN(ctx, s.valuesRead, p.UserID, n, "records read"); err != nil {
			return nil, err
		}
	}
	l.charged = n
	dek, err := s.dek(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	l.dek = dek
	return l, nil
}

// idTime is the creation second an ObjectId holds, the earliest created
// time its record can have.
func idTime(id string) time.Time {
	b, _ := hex.DecodeString(id[:8])
	return time.Unix(int64(binary.BigEndian.Uint32(b)), 0).UTC()
}

// Each decrypts the list's records one chunk at a time and calls fn with
// each, in order, stopping at the first error (fn's, or the store's or a
// record's that would not open, or the audit trail's). Each record's
// record.read event is queued before fn sees it. Records created while the
// list is read may or may not be in it.
func (l *RecordList) Each(ctx context.Context, fn func(RecordView) error) error {
	defer l.dek.Zero()
	after, left := l.after, l.charged
	for {
		n := min(listChunk, left)
		if n == 0 {
			return nil
		}
		rs, err := l.first, error(nil)
		if l.hasFirst {
			l.first, l.hasFirst = nil, false
			rs = rs[:min(len(rs), n)]
		} else if rs, err = l.s.store.Records(ctx, l.user, after, n); err != nil {
			return err
		}
		for i, r := range rs {
			pt, err := envelope.OpenRecord(l.dek, envelope.RecordAAD(r.UserID, r.ID, r.DataType), r.EncryptedValue)
			if err != nil {
				return strongroom.Internal("open record "+r.ID, err)
			}
			v := RecordView{ID: r.ID, DataType: r.DataType, Value: string(pt)}
			clear(pt)
			after = r.Cursor()
			rs[i] = nil // let the chunk's ciphertexts go as it is sent
			// One event per record returned, before its value is sent.
			if err := l.s.auditRead(ctx, l.user, v.ID); err != nil {
				return err
			}
			if err := fn(v); err != nil {
				return err
			}
		}
		if len(rs) < n {
			return nil
		}
		left -= len(rs)
	}
}

// RecordSummary is a record without its value: what a list shows before
// its owner asks to see a value.
type RecordSummary struct {
	ID        string
	DataType  string
	CreatedAt time.Time
}

// RecordSummaries returns the caller's first limit records (1 to
// MaxPageSize), oldest first, without their values: no value is
// decrypted, so none is a record.read event or counts against the read
// budget. The web app lists records so, and shows a value only when its
// owner asks (Record).
func (s *Service) RecordSummaries(ctx context.Context, p *Principal, limit int) ([]RecordSummary, error) {
	if limit < 1 || limit > MaxPageSize {
		return nil, strongroom.Invalid("limit", "limit must be 1 to %d", MaxPageSize)
	}
	rs, err := s.store.Records(ctx, p.UserID, strongroom.RecordCursor{}, limit)
	if err != nil {
		return nil, err
	}
	out := make([]RecordSummary, len(rs))
	for i, r := range rs {
		out[i] = RecordSummary{ID: r.ID, DataType: r.DataType, CreatedAt: r.CreatedAt}
	}
	return out, nil
}

// RecordSummary is one of the caller's records without its value (none
// is decrypted, so it is no record.read); another user's id is
// KindNotFound, as a missing one.
func (s *Service) RecordSummary(ctx context.Context, p *Principal, id string) (RecordSummary, error) {
	r, err := s.store.Record(ctx, p.UserID, id)
	if err != nil {
		return RecordSummary{}, err
	}
	return RecordSummary{ID: r.ID, DataType: r.DataType, CreatedAt: r.CreatedAt}, nil
}
