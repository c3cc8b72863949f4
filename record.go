package strongroom

import (
	"time"
	"unicode/utf8"
)

// Record is one piece of sensitive data as stored: the value only ever in
// its encrypted form.
type Record struct {
	ID             string
	UserID         string
	DataType       string
	EncryptedValue string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Limits on record fields, in characters.
const (
	MaxDataTypeLen = 64
	MaxValueLen    = 16 * 1024
)

// ValidateRecord checks a data_type and its plaintext value. A card_number
// must be exactly 16 digits (the seed's rule; the seed's own examples fail
// the Luhn check, so Luhn is not required). The error never holds the value.
func ValidateRecord(dataType, value string) error {
	if dataType == "" || len(dataType) > MaxDataTypeLen {
		return Invalid("data_type", "data_type must be 1 to %d characters", MaxDataTypeLen)
	}
	if !dataTypeRE.MatchString(dataType) {
		return Invalid("data_type", "data_type may hold only lowercase letters, digits and '_', starting with a letter")
	}
	if n := utf8.RuneCountInString(value); n == 0 || n > MaxValueLen {
		return Invalid("value", "value must be 1 to %d characters", MaxValueLen)
	}
	if dataType == "card_number" {
		if len(value) != 16 {
			return Invalid("value", "card_number must be exactly 16 digits")
		}
		for i := 0; i < len(value); i++ {
			if value[i] < '0' || value[i] > '9' {
				return Invalid("value", "card_number must be exactly 16 digits")
			}
		}
	}
	return nil
}

// Quota bounds what one user may store. A zero field is no limit.
type Quota struct {
	MaxRecords int64 // records per user
	MaxBytes   int64 // bytes of encrypted_value per user, as stored
}

// Usage is what a user stores, counted as the quota counts it.
type Usage struct {
	Records int64
	Bytes   int64 // the summed length of the records' encrypted_value
}

// Check returns the quota error that adding newRecords records and size
// bytes (of encrypted_value) to u would meet, or nil if they fit. Adding
// nothing, or shrinking, always fits, even over a quota lowered meanwhile.
func (q Quota) Check(u Usage, newRecords, size int64) error {
	if q.MaxRecords > 0 && newRecords > 0 && u.Records+newRecords > q.MaxRecords {
		return ErrRecordQuota(q.MaxRecords)
	}
	if q.MaxBytes > 0 && size > 0 && u.Bytes+size > q.MaxBytes {
		return ErrByteQuota(q.MaxBytes)
	}
	return nil
}

// ErrRecordQuota refuses a record that would take its owner over max
// records. It is a conflict (409): the client can delete records first.
func ErrRecordQuota(max int64) *Error {
	return Errorf(KindConflict, "record quota reached: %d records per user", max)
}

// ErrByteQuota refuses a value that would take its owner over max stored
// bytes (409, like ErrRecordQuota).
func ErrByteQuota(max int64) *Error {
	return Errorf(KindConflict, "byte quota reached: %d bytes of stored values per user", max)
}

// RecordCursor is a place in a user's list of records, which is ordered by
// created time, then id. The zero cursor is the start of the list.
type RecordCursor struct {
	CreatedAt time.Time
	ID        string
}

// IsZero reports whether c is the start of the list.
func (c RecordCursor) IsZero() bool { return c.ID == "" }

// Cursor returns r's place in the list.
func (r *Record) Cursor() RecordCursor { return RecordCursor{CreatedAt: r.CreatedAt, ID: r.ID} }
