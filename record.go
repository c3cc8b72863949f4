package strongroom

import "time"

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

// Limits on record fields.
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
	for i, c := range dataType {
		ok := c >= 'a' && c <= 'z' || (i > 0 && (c >= '0' && c <= '9' || c == '_'))
		if !ok {
			return Invalid("data_type", "data_type may hold only lowercase letters, digits and '_', starting with a letter")
		}
	}
	if value == "" || len(value) > MaxValueLen {
		return Invalid("value", "value must be 1 to %d bytes", MaxValueLen)
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
