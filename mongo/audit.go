package mongo

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/strongroom/strongroom"
)

// The audit trail without multi-document transactions.
//
// Collections: audit_events, one document per event with _id the event's
// seq (an int64); audit_head and audit_start, whose documents are marks
// that are only ever inserted, _id a seq: the head is the mark with the
// highest _id, and so is the start. Conditional updates are not enough on
// FerretDB v1 (it evaluates a filter and writes the document in two
// steps, see lock.go), but an insert of a unique _id is atomic on every
// MongoDB-protocol server, and "the highest mark" can only move forward,
// whatever order racing writers land in.
//
// An append reads the end of the chain (the later of the last event and
// the head), computes the batch's seqs and hashes from it, and inserts the
// events in one ordered insertMany. If another server appended first, the
// insert of the first seq it took fails on the unique _id and the ordered
// insert stops there: the events before it are in (they fit, as each
// followed the one before it), and the rest are chained again from the new
// end and retried. Then the head mark of the last event is inserted.
//
// A crash between the steps: part of an ordered insertMany is a first part
// of the batch, so never a gap; events inserted but not yet under a head
// mark only leave the head behind the chain, which Verify accepts (it
// checks the chain reaches the head, and the head's hash), and the next
// append's mark covers them. So no crash makes a false alarm, and no
// event that is stored is skipped by a later one.
//
// A prune inserts the start mark first (sealed with the audit key), then
// deletes the events before it; a crash between leaves old events that
// Verify walks past and the next prune deletes.
//
// Indexes of audit_events: _id for the chain, the head and unfiltered
// lists; user_id_1__id_1 and type_1__id_1 for the filtered lists, newest
// first; time_1 for the since filter and for pruning.

// Audit collection names.
const (
	AuditEvents = "audit_events"
	AuditHeads  = "audit_head"
	AuditStarts = "audit_start"
)

// auditDoc is a document of audit_events.
type auditDoc struct {
	Seq       int64     `bson:"_id"`
	Time      time.Time `bson:"time"`
	Type      string    `bson:"type"`
	Outcome   string    `bson:"outcome"`
	UserID    string    `bson:"user_id"`
	Target    string    `bson:"target"`
	Client    string    `bson:"client"`
	RequestID string    `bson:"request_id"`
	Prev      []byte    `bson:"prev"`
	Hash      []byte    `bson:"hash"`
}

func (d *auditDoc) event() *strongroom.AuditEvent {
	return &strongroom.AuditEvent{Seq: d.Seq, Time: d.Time.UTC(), Type: d.Type, Outcome: d.Outcome, UserID: d.UserID,
		Target: d.Target, Client: d.Client, RequestID: d.RequestID, Prev: d.Prev, Hash: d.Hash}
}

func auditDocOf(e *strongroom.AuditEvent) auditDoc {
	return auditDoc{Seq: e.Seq, Time: e.Time.UTC(), Type: e.Type, Outcome: e.Outcome, UserID: e.UserID, Target: e.Target,
		Client: e.Client, RequestID: e.RequestID, Prev: e.Prev, Hash: e.Hash}
}

// headDoc is a mark of audit_head.
type headDoc struct {
	Seq  int64  `bson:"_id"`
	Hash []byte `bson:"hash"`
}

// startDoc is a mark of audit_start.
type startDoc struct {
	Seq  int64  `bson:"_id"`
	Prev []byte `bson:"prev"`
	MAC  []byte `bson:"mac"`
}

// newestByID finds the document with the highest _id.
func newestByID() *options.FindOneOptionsBuilder {
	return options.FindOne().SetSort(bson.D{{Key: "_id", Value: -1}})
}

// byID filters on _id with one comparison: byID("$lt", 5).
func byID(op string, v any) bson.D { return bson.D{{Key: "_id", Value: bson.D{{Key: op, Value: v}}}} }

// headMarkEvery is how often (in seqs) an append deletes the head marks
// below its own, so they do not pile up.
const headMarkEvery = 64

// ensureAuditHead gives a store with no audit events a head mark at seq 0,
// so that a head that is missing later can only be a hand on the
// database. A store that has events and no mark is left alone: Verify
// names that.
func (db *DB) ensureAuditHead(ctx context.Context) error {
	if err := db.auditHeads.FindOne(ctx, bson.D{}).Err(); !errors.Is(err, mdb.ErrNoDocuments) {
		return mapErr("audit head", err)
	}
	if err := db.audit.FindOne(ctx, bson.D{}).Err(); !errors.Is(err, mdb.ErrNoDocuments) {
		return mapErr("audit head", err)
	}
	_, err := db.auditHeads.InsertOne(ctx, headDoc{Seq: 0, Hash: strongroom.AuditGenesis()})
	if mdb.IsDuplicateKeyError(err) {
		return nil
	}
	return mapErr("audit head", err)
}

// auditEnd returns the seq and hash the next event follows: the later of
// the last event and the head. Both are real events' (or the genesis), so
// reading them apart, while others append, is safe; if the newest events
// were deleted, the chain goes on after the head and the cut stays a gap.
func (db *DB) auditEnd(ctx context.Context) (int64, []byte, error) {
	var last auditDoc
	err := db.audit.FindOne(ctx, bson.D{}, newestByID()).Decode(&last)
	if err != nil && !errors.Is(err, mdb.ErrNoDocuments) {
		return 0, nil, err
	}
	var head headDoc
	herr := db.auditHeads.FindOne(ctx, bson.D{}, newestByID()).Decode(&head)
	if herr != nil && !errors.Is(herr, mdb.ErrNoDocuments) {
		return 0, nil, herr
	}
	switch {
	case err == nil && (herr != nil || last.Seq >= head.Seq):
		return last.Seq, last.Hash, nil
	case herr == nil:
		return head.Seq, head.Hash, nil
	}
	return 0, strongroom.AuditGenesis(), nil
}

// AppendAudit appends events as described above, retrying the part that
// lost a race until ctx ends.
func (db *DB) AppendAudit(ctx context.Context, events []*strongroom.AuditEvent, link strongroom.AuditLink) error {
	rest := events
	for attempt := 0; len(rest) > 0; attempt++ {
		seq, prev, err := db.auditEnd(ctx)
		if err != nil {
			return mapErr("append audit", err)
		}
		docs := make([]any, len(rest))
		for i, e := range rest {
			seq++
			e.Seq, e.Prev = seq, prev
			e.Hash = link(e)
			prev = e.Hash
			docs[i] = auditDocOf(e)
		}
		inserted := len(rest)
		_, err = db.audit.InsertMany(ctx, docs) // ordered: stops at the first failure
		if err != nil {
			var bwe mdb.BulkWriteException
			if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 ||
				!mdb.IsDuplicateKeyError(bwe.WriteErrors[0]) {
				return mapErr("append audit", err)
			}
			inserted = bwe.WriteErrors[0].Index
		}
		if inserted > 0 {
			if err := db.markAuditHead(ctx, rest[0].Seq, rest[inserted-1]); err != nil {
				return err
			}
		}
		if rest = rest[inserted:]; len(rest) == 0 {
			return nil
		}
		// Lost a race for the next seq: wait a little, longer each time.
		wait := time.Duration(200+rand.IntN(800*min(attempt+1, 20))) * time.Microsecond
		select {
		case <-ctx.Done():
			return mapErr("append audit", ctx.Err())
		case <-time.After(wait):
		}
	}
	return nil
}

// markAuditHead inserts the head mark of last, the end of a run of
// inserted events that began at first, and now and then deletes the marks
// below it (never the highest, which is at least this one).
func (db *DB) markAuditHead(ctx context.Context, first int64, last *strongroom.AuditEvent) error {
	_, err := db.auditHeads.InsertOne(ctx, headDoc{Seq: last.Seq, Hash: last.Hash})
	if err != nil && !mdb.IsDuplicateKeyError(err) { // a duplicate: a retried insert that had landed
		return mapErr("append audit: head", err)
	}
	if (first-1)/headMarkEvery != last.Seq/headMarkEvery {
		if _, err := db.auditHeads.DeleteMany(ctx, byID("$lt", last.Seq)); err != nil {
			return mapErr("append audit: head", err)
		}
	}
	return nil
}

func (db *DB) findAudit(ctx context.Context, op string, filter bson.D, opts *options.FindOptionsBuilder) ([]*strongroom.AuditEvent, error) {
	cur, err := db.audit.Find(ctx, filter, opts)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer cur.Close(context.WithoutCancel(ctx))
	out := []*strongroom.AuditEvent{}
	for cur.Next(ctx) {
		var d auditDoc
		if err := cur.Decode(&d); err != nil {
			return nil, mapErr(op, err)
		}
		out = append(out, d.event())
	}
	return out, mapErr(op, cur.Err())
}

// pageLimit clamps a page size to 1..MaxAuditPage.
func pageLimit(n int) int64 { return int64(min(max(n, 1), strongroom.MaxAuditPage)) }

// AuditEvents lists events newest first, along user_id_1__id_1 or
// type_1__id_1 when filtered by user or type, else along _id.
func (db *DB) AuditEvents(ctx context.Context, f strongroom.AuditFilter) ([]*strongroom.AuditEvent, error) {
	filter := bson.D{}
	if f.UserID != "" {
		filter = append(filter, bson.E{Key: "user_id", Value: f.UserID})
	}
	if f.Type != "" {
		filter = append(filter, bson.E{Key: "type", Value: f.Type})
	}
	if !f.Since.IsZero() {
		filter = append(filter, bson.E{Key: "time", Value: bson.D{{Key: "$gte", Value: f.Since.UTC()}}})
	}
	if f.Before > 0 {
		filter = append(filter, byID("$lt", f.Before)...)
	}
	return db.findAudit(ctx, "list audit events", filter,
		options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(pageLimit(f.Limit)))
}

// AuditChain returns the chain oldest first, after a seq.
func (db *DB) AuditChain(ctx context.Context, after int64, limit int) ([]*strongroom.AuditEvent, error) {
	return db.findAudit(ctx, "read audit chain", byID("$gt", after),
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(pageLimit(limit)))
}

// AuditHead returns the highest head mark; KindNotFound if there is none.
func (db *DB) AuditHead(ctx context.Context) (strongroom.AuditHead, error) {
	var h headDoc
	err := db.auditHeads.FindOne(ctx, bson.D{}, newestByID()).Decode(&h)
	if errors.Is(err, mdb.ErrNoDocuments) {
		return strongroom.AuditHead{}, notFound("audit head")
	}
	if err != nil {
		return strongroom.AuditHead{}, mapErr("read audit head", err)
	}
	return strongroom.AuditHead{Seq: h.Seq, Hash: h.Hash}, nil
}

// AuditStart returns the highest start mark, or Seq 0 if there is none.
func (db *DB) AuditStart(ctx context.Context) (strongroom.AuditStart, error) {
	var s startDoc
	err := db.auditStarts.FindOne(ctx, bson.D{}, newestByID()).Decode(&s)
	if errors.Is(err, mdb.ErrNoDocuments) {
		return strongroom.AuditStart{}, nil
	}
	if err != nil {
		return strongroom.AuditStart{}, mapErr("read audit start", err)
	}
	return strongroom.AuditStart{Seq: s.Seq, Prev: s.Prev, MAC: s.MAC}, nil
}
