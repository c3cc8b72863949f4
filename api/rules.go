package api

import (
	"github.com/danielgtaylor/huma/v2"

	"github.com/strongroom/strongroom"
)

// The input rules, as types whose schema states them: the document
// declares exactly what the server enforces, and huma refuses (422, naming
// the field) what breaks them before any handler runs. The patterns are
// the root package's, which its own checks are tested against.
type (
	username      string // a username as registered or logged in with
	usernameOrOwn string // the same, or "" for the bearer token's own
	newPassword   string // a password being set
	password      string // a password being checked
	email         string
	dataType      string
	value         string
	recordID      string
	sessionID     string
	accountID     string // a user id
	auditType     string // an audit event type
	secondFactor  string // a 6-digit code or a recovery code
	sixDigits     string // a 6-digit code
	recoveryCode  string // a recovery or unlock code
	challenge     string // a login challenge or a setup id
	passkeyName   string // a passkey's label
)

// Recovery and unlock codes: 10 characters of the base32 alphabet, in two
// groups of five, with or without the dash, in either case.
const recoveryPattern = `[A-Za-z2-7]{5}-?[A-Za-z2-7]{5}`

func str(s *huma.Schema, min, max int, pattern, describe string) *huma.Schema {
	if min > 0 {
		s.MinLength = &min
	}
	s.MaxLength = &max
	s.Pattern, s.PatternDescription = pattern, describe
	return s
}

func (username) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	return str(s, 3, 64, strongroom.UsernamePattern, "3 to 64 letters, digits, '.', '_' and '-', starting with a letter or digit")
}

func (usernameOrOwn) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	return str(s, 0, 64, "^$|"+strongroom.UsernamePattern, "empty (with a bearer token: its own), or 3 to 64 letters, digits, '.', '_' and '-', starting with a letter or digit")
}

func (newPassword) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	return str(s, strongroom.MinPasswordLen, strongroom.MaxPasswordLen, strongroom.PasswordPattern,
		"8 to 128 characters with an uppercase letter, a digit and a special character (neither a letter, a digit nor white space)")
}

func (password) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	return str(s, 0, 512, "", "")
}

func (email) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	return str(s, 0, strongroom.MaxEmailLen, strongroom.EmailPattern, "a plain address such as name@example.com: no display name, a domain with a dot")
}

func (dataType) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	return str(s, 1, strongroom.MaxDataTypeLen, strongroom.DataTypePattern, "lowercase letters, digits and '_', starting with a letter")
}

func (value) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	return str(s, 1, strongroom.MaxValueLen, "", "")
}

func (recordID) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	return str(s, 0, 24, strongroom.RecordIDPattern, "24 lowercase hexadecimal digits")
}

func (accountID) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	return str(s, 0, 24, strongroom.RecordIDPattern, "24 lowercase hexadecimal digits")
}

func (auditType) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	s.Enum = nil
	for _, t := range strongroom.AuditTypes() {
		s.Enum = append(s.Enum, t)
	}
	return s
}

func (sessionID) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	return str(s, 0, 32, "^[0-9a-f]{32}$", "32 lowercase hexadecimal digits")
}

func (secondFactor) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	return str(s, 0, 11, "^([0-9]{6}|"+recoveryPattern+")$", "6 digits, or a recovery code (XXXXX-XXXXX)")
}

func (sixDigits) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	return str(s, 0, 6, "^[0-9]{6}$", "6 digits")
}

func (recoveryCode) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	return str(s, 0, 11, "^"+recoveryPattern+"$", "XXXXX-XXXXX")
}

func (challenge) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	// 32 random bytes, base64url without padding: 43 characters, the last
	// of which carries 4 bits and two zero bits.
	return str(s, 0, 43, "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$", "the 43 characters that /login (or /2fa/totp/setup) answered")
}

func (passkeyName) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	return str(s, 0, strongroom.MaxPasskeyNameLen, strongroom.PasskeyNamePattern, "printable text: no control characters")
}
