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

// rotationID is the _id of the one rotation document.
const rotationID = "master_key"

type rotationDoc struct {
	ID            string     `bson:"_id"`
	State         string     `bson:"state"`
	TargetVersion int32      `bson:"target_version"`
	Rewrapped     int64      `bson:"rewrapped"`
	StartedAt     *time.Time `bson:"started_at"`
	UpdatedAt     *time.Time `bson:"updated_at"`
	FinishedAt    *time.Time `bson:"finished_at"`
	LeaseOwner    *string    `bson:"lease_owner"`
	LeaseUntil    *time.Time `bson:"lease_until"`
}

func (d *rotationDoc) rotation() strongroom.Rotation {
	t := func(p *time.Time) time.Time {
		if p == nil {
			return time.Time{}
		}
		return p.UTC()
	}
	return strongroom.Rotation{State: strongroom.RotationState(d.State), TargetVersion: int(d.TargetVersion), Rewrapped: int(d.Rewrapped),
		StartedAt: t(d.StartedAt), UpdatedAt: t(d.UpdatedAt), FinishedAt: t(d.FinishedAt)}
}

func ptime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Rotation returns the progress of the latest rotation (zero if none).
func (db *DB) Rotation(ctx context.Context) (strongroom.Rotation, error) {
	var d rotationDoc
	err := db.rotation.FindOne(ctx, bson.D{{Key: "_id", Value: rotationID}}).Decode(&d)
	if errors.Is(err, mdb.ErrNoDocuments) {
		return strongroom.Rotation{}, nil
	}
	if err != nil {
		return strongroom.Rotation{}, mapErr("read rotation", err)
	}
	return d.rotation(), nil
}

// BeginRotation takes the lease, unless another owner holds a live one.
func (db *DB) BeginRotation(ctx context.Context, owner string, now time.Time, ttl time.Duration) (strongroom.Rotation, error) {
	var out strongroom.Rotation
	err := db.withLock(ctx, "rotation", func() error {
		var d rotationDoc
		err := db.rotation.FindOne(ctx, bson.D{{Key: "_id", Value: rotationID}}).Decode(&d)
		if err != nil && !errors.Is(err, mdb.ErrNoDocuments) {
			return mapErr("begin rotation", err)
		}
		if d.LeaseOwner != nil && *d.LeaseOwner != owner && d.LeaseUntil != nil && now.Before(*d.LeaseUntil) {
			return strongroom.Errorf(strongroom.KindConflict, "a master key rotation is already running")
		}
		_, err = db.rotation.UpdateOne(ctx, bson.D{{Key: "_id", Value: rotationID}},
			bson.D{
				{Key: "$set", Value: bson.D{{Key: "lease_owner", Value: owner}, {Key: "lease_until", Value: now.Add(ttl)}}},
				{Key: "$setOnInsert", Value: bson.D{{Key: "state", Value: ""}, {Key: "target_version", Value: int32(0)}, {Key: "rewrapped", Value: int64(0)}}},
			}, options.UpdateOne().SetUpsert(true))
		out = d.rotation()
		return mapErr("begin rotation", err)
	})
	return out, err
}

// SaveRotation stores progress and renews the lease if owner holds it.
func (db *DB) SaveRotation(ctx context.Context, owner string, r strongroom.Rotation, now time.Time, ttl time.Duration) error {
	var leaseOwner, leaseUntil any = owner, now.Add(ttl)
	if r.State == strongroom.RotationDone {
		leaseOwner, leaseUntil = nil, nil
	}
	return db.withLock(ctx, "rotation", func() error {
		res, err := db.rotation.UpdateOne(ctx, bson.D{{Key: "_id", Value: rotationID}, {Key: "lease_owner", Value: owner}},
			bson.D{{Key: "$set", Value: bson.D{
				{Key: "state", Value: string(r.State)}, {Key: "target_version", Value: int32(r.TargetVersion)},
				{Key: "rewrapped", Value: int64(r.Rewrapped)}, {Key: "started_at", Value: ptime(r.StartedAt)},
				{Key: "updated_at", Value: ptime(r.UpdatedAt)}, {Key: "finished_at", Value: ptime(r.FinishedAt)},
				{Key: "lease_owner", Value: leaseOwner}, {Key: "lease_until", Value: leaseUntil},
			}}})
		if err != nil {
			return mapErr("save rotation", err)
		}
		if res.MatchedCount == 0 {
			return strongroom.Errorf(strongroom.KindConflict, "the rotation lease was lost to another process")
		}
		return nil
	})
}
