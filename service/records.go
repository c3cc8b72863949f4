package service

import (
	"context"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/envelope"
)

// RecordView is a decrypted record, as the owner sees it.
type RecordView struct {
	ID       string
	DataType string
	Value    string
}

func validID(id string) error {
	if !strongroom.ValidID(id) {
		return strongroom.Invalid("id", "id must be a 24-character hexadecimal ObjectId")
	}
	return nil
}

func (s *Service) seal(ctx context.Context, userID, id, dataType, value string) (string, error) {
	dek, err := s.dek(ctx, userID)
	if err != nil {
		return "", err
	}
	defer dek.Zero()
	enc, err := envelope.SealRecord(dek, s.rand, envelope.RecordAAD(userID, id, dataType), []byte(value))
	if err != nil {
		return "", strongroom.Internal("seal record", err)
	}
	return enc, nil
}

func (s *Service) open(ctx context.Context, r *strongroom.Record) (RecordView, error) {
	dek, err := s.dek(ctx, r.UserID)
	if err != nil {
		return RecordView{}, err
	}
	defer dek.Zero()
	pt, err := envelope.OpenRecord(dek, envelope.RecordAAD(r.UserID, r.ID, r.DataType), r.EncryptedValue)
	if err != nil {
		return RecordView{}, strongroom.Internal("open record "+r.ID, err)
	}
	return RecordView{ID: r.ID, DataType: r.DataType, Value: string(pt)}, nil
}

// CreateRecord encrypts and stores a value for the caller.
func (s *Service) CreateRecord(ctx context.Context, p *Principal, dataType, value string) (RecordView, error) {
	if err := strongroom.ValidateRecord(dataType, value); err != nil {
		return RecordView{}, err
	}
	if err := s.limit(ctx, s.valuesWritten, p.UserID, "records written"); err != nil {
		return RecordView{}, err
	}
	now := s.now().UTC()
	r := &strongroom.Record{ID: strongroom.NewID(now), UserID: p.UserID, DataType: dataType, CreatedAt: now, UpdatedAt: now}
	enc, err := s.seal(ctx, p.UserID, r.ID, dataType, value)
	if err != nil {
		return RecordView{}, err
	}
	r.EncryptedValue = enc
	if err := s.store.CreateRecord(ctx, r, s.quota()); err != nil {
		return RecordView{}, err
	}
	if err := s.audit(ctx, strongroom.AuditRecordCreate, strongroom.AuditSuccess, p.UserID, r.ID); err != nil {
		return RecordView{}, err
	}
	return RecordView{ID: r.ID, DataType: dataType, Value: value}, nil
}

// Record returns one of the caller's records; another user's is KindNotFound.
func (s *Service) Record(ctx context.Context, p *Principal, id string) (RecordView, error) {
	if err := validID(id); err != nil {
		return RecordView{}, err
	}
	// One value from the account's budget of values read (as a list's),
	// before the store is read; on this server's credit, so most reads
	// cost no store write of their own.
	if err := s.limit(ctx, s.valuesRead, p.UserID, "records read"); err != nil {
		return RecordView{}, err
	}
	r, err := s.store.Record(ctx, p.UserID, id)
	if err != nil {
		return RecordView{}, err
	}
	v, err := s.open(ctx, r)
	if err != nil {
		return RecordView{}, err
	}
	if err := s.auditRead(ctx, p.UserID, r.ID); err != nil {
		return RecordView{}, err
	}
	return v, nil
}

// UpdateRecord replaces one of the caller's records with a new value,
// encrypted afresh.
func (s *Service) UpdateRecord(ctx context.Context, p *Principal, id, dataType, value string) (RecordView, error) {
	if err := validID(id); err != nil {
		return RecordView{}, err
	}
	if err := strongroom.ValidateRecord(dataType, value); err != nil {
		return RecordView{}, err
	}
	if err := s.limit(ctx, s.valuesWritten, p.UserID, "records written"); err != nil {
		return RecordView{}, err
	}
	enc, err := s.seal(ctx, p.UserID, id, dataType, value)
	if err != nil {
		return RecordView{}, err
	}
	r := &strongroom.Record{ID: id, UserID: p.UserID, DataType: dataType, EncryptedValue: enc, UpdatedAt: s.now().UTC()}
	if err := s.store.UpdateRecord(ctx, r, s.quota()); err != nil {
		return RecordView{}, err
	}
	if err := s.audit(ctx, strongroom.AuditRecordUpdate, strongroom.AuditSuccess, p.UserID, id); err != nil {
		return RecordView{}, err
	}
	return RecordView{ID: id, DataType: dataType, Value: value}, nil
}

// DeleteRecord deletes one of the caller's records.
func (s *Service) DeleteRecord(ctx context.Context, p *Principal, id string) error {
	if err := validID(id); err != nil {
		return err
	}
	if err := s.limit(ctx, s.valuesWritten, p.UserID, "records written"); err != nil {
		return err
	}
	if err := s.store.DeleteRecord(ctx, p.UserID, id); err != nil {
		return err
	}
	return s.audit(ctx, strongroom.AuditRecordDelete, strongroom.AuditSuccess, p.UserID, id)
}
