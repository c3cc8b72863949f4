package strongroom

import (
	"strings"
	"time"
	"unicode"
)

// User is an account. HashedPassword and Salt are never sent to a client;
// TOTPSecret holds the secret encrypted under the user's data key.
type User struct {
	ID                    string
	Username              string
	Email                 string
	HashedPassword        string
	Salt                  string
	FailedAttempts        int
	LastFailedAttemptTime time.Time // zero if none
	TOTPSecret            string    // encrypted, "" if none
	TwoFactorEnabled      bool      // some second factor is on
	IsAdmin               bool
	CreatedAt             time.Time
	EmailOTPEnabled       bool   // codes by mail are a second factor
	TOTPEnabled           bool   // an authenticator app is a second factor
	TOTPPendingSecret     string // encrypted: a setup not yet confirmed
	TOTPLastStep          int64  // the last TOTP step accepted, against replay
	// FactorsVersion counts changes to the second-factor settings, so a
	// change made from a stale read is refused instead of undoing another.
	FactorsVersion int64
	// SecondFactorFailures counts failed second factors in a row;
	// LastSecondFactorFailure is the newest (zero if none).
	SecondFactorFailures    int
	LastSecondFactorFailure time.Time
	// SessionsEpoch moves on whenever all the user's sessions (but the
	// caller's) are ended: a session is made only at the epoch its login
	// read (SessionStore.CreateSession).
	SessionsEpoch int64
	// DeletedAt is when the account's deletion began (its data key was
	// destroyed); zero for an account not being deleted. Only
	// UsersBeingDeleted returns such users.
	DeletedAt time.Time
}

// SecondFactors are a user's second-factor settings, written together;
// two_factor_enabled follows from them.
type SecondFactors struct {
	EmailOTP    bool
	TOTP        bool
	TOTPSecret  string // encrypted
	TOTPPending string // encrypted
}

// SecondFactors returns the user's current settings.
func (u *User) SecondFactors() SecondFactors {
	return SecondFactors{EmailOTP: u.EmailOTPEnabled, TOTP: u.TOTPEnabled, TOTPSecret: u.TOTPSecret, TOTPPending: u.TOTPPendingSecret}
}

// Limits on account fields.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 128
	MaxEmailLen    = 254
)

// NormalizeUsername lowercases the ASCII letters of a username, so "Alice"
// and "alice" are one account and cannot be registered twice to
// impersonate each other. Only ASCII is folded: strings.ToLower would also
// turn the Kelvin sign into "k" and a dotted capital I into "i", so names
// that no account can have (ValidateUsername allows only ASCII) would sign
// in to existing accounts.
func NormalizeUsername(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}

// ValidateUsername checks a normalized username: 3 to 64 characters of
// lowercase letters, digits, '.', '_' and '-', starting with a letter or
// digit (UsernamePattern, after folding).
func ValidateUsername(s string) error {
	if len(s) < 3 || len(s) > 64 {
		return Invalid("username", "username must be 3 to 64 characters")
	}
	if !usernameRE.MatchString(s) || s != NormalizeUsername(s) {
		return Invalid("username", "username may hold only letters, digits, '.', '_' and '-', and must start with a letter or digit")
	}
	return nil
}

// NormalizeEmail validates an email address (EmailPattern, at most
// MaxEmailLen characters) and returns it lowercased.
func NormalizeEmail(s string) (string, error) {
	if len(s) > MaxEmailLen {
		return "", Invalid("email", "email must be at most %d characters", MaxEmailLen)
	}
	if !emailRE.MatchString(s) {
		return "", Invalid("email", "email must be a plain address such as name@example.com")
	}
	return strings.ToLower(s), nil
}

// ValidatePassword applies the seed's password rule: at least 8 characters
// with an uppercase letter, a digit and a special character; at most 128.
// The error never contains the password.
func ValidatePassword(pw string) error {
	n := len([]rune(pw))
	if n < MinPasswordLen || n > MaxPasswordLen {
		return Invalid("password", "password must be %d to %d characters", MinPasswordLen, MaxPasswordLen)
	}
	var upper, digit, special bool
	for _, c := range pw {
		switch {
		case unicode.IsUpper(c):
			upper = true
		case unicode.IsDigit(c):
			digit = true
		case !unicode.IsLetter(c) && !unicode.IsSpace(c):
			special = true
		}
	}
	if !upper || !digit || !special {
		return Invalid("password", "password must contain an uppercase letter, a digit and a special character")
	}
	return nil
}
