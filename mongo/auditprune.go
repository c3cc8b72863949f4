package mongo

import (
	"context"
	"errors"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	mdb "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/strongroom/strongroom"
)

// PruneAudit inserts the new start mark, then deletes the events before
// it (see audit.go). The new start is the first event at or after before,
// but never past the head or the last event. Prunes on several servers at
// once are safe: each start mark is a real event's, and the highest wins.
func (db *DB) PruneAudit(ctx context.Context, before time.Time, seal strongroom.AuditSeal) (int, error) {
	var last auditDoc
	err := db.audit.FindOne(ctx, bson.D{}, newestByID()).Decode(&last)
	if errors.Is(err, mdb.ErrNoDocuments) {
		return 0, nil
	}
	if err != nil {
		return 0, mapErr("prune audit", err)
	}
	keep := last.Seq
	var head headDoc
	switch err := db.auditHeads.FindOne(ctx, bson.D{}, newestByID()).Decode(&head); {
	case err == nil && head.Seq < keep:
		keep = head.Seq // events past a head that lags are kept
	case err != nil && !errors.Is(err, mdb.ErrNoDocuments):
		return 0, mapErr("prune audit", err)
	}
	var first auditDoc
	oldestFirst := options.FindOne().SetSort(bson.D{{Key: "_id", Value: 1}})
	switch err := db.audit.FindOne(ctx, bson.D{{Key: "time", Value: bson.D{{Key: "$gte", Value: before.UTC()}}}}, oldestFirst).Decode(&first); {
	case err == nil && first.Seq < keep:
		keep = first.Seq
	case err != nil && !errors.Is(err, mdb.ErrNoDocuments):
		return 0, mapErr("prune audit", err)
	}
	cur, err := db.AuditStart(ctx)
	if err != nil {
		return 0, err
	}
	if keep <= cur.Seq {
		// Nothing newer to prune; finish an earlier prune that stopped
		// after its mark.
		return db.deleteAuditBefore(ctx, cur.Seq)
	}
	var at auditDoc
	err = db.audit.FindOne(ctx, bson.D{{Key: "_id", Value: keep}}).Decode(&at)
	if errors.Is(err, mdb.ErrNoDocuments) {
		if now, serr := db.AuditStart(ctx); serr == nil && now.Seq >= keep {
			return 0, nil // a prune on another server went further meanwhile
		}
		return 0, strongroom.Internal("mongo: prune audit", errors.New("the event to start the chain at is missing; run strongroom audit verify"))
	}
	if err != nil {
		return 0, mapErr("prune audit", err)
	}
	if err := db.audit.FindOne(ctx, byID("$lt", keep)).Err(); errors.Is(err, mdb.ErrNoDocuments) {
		return 0, nil // nothing older
	} else if err != nil {
		return 0, mapErr("prune audit", err)
	}
	start := strongroom.AuditStart{Seq: keep, Prev: at.Prev}
	start.MAC = seal(start)
	if _, err := db.auditStarts.InsertOne(ctx, startDoc{Seq: start.Seq, Prev: start.Prev, MAC: start.MAC}); err != nil && !mdb.IsDuplicateKeyError(err) {
		return 0, mapErr("prune audit", err)
	}
	n, err := db.deleteAuditBefore(ctx, keep)
	if err != nil {
		return n, err
	}
	// Marks below the new start are never the highest.
	if _, err := db.auditStarts.DeleteMany(ctx, byID("$lt", keep)); err != nil {
		return n, mapErr("prune audit", err)
	}
	return n, nil
}

func (db *DB) deleteAuditBefore(ctx context.Context, seq int64) (int, error) {
	if seq <= 0 {
		return 0, nil
	}
	res, err := db.audit.DeleteMany(ctx, byID("$lt", seq))
	if err != nil {
		return 0, mapErr("prune audit", err)
	}
	return int(res.DeletedCount), nil
}
